"""Re-execute chapter notebooks in place and store their outputs (run before committing a chapter).

Usage: CI=true python .ci/execute_notebooks.py book/01_introduction.ipynb [...]
CI=true keeps progress bars out of the stored outputs, as they are when nbval re-runs them.
"""
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

for path in map(Path, sys.argv[1:] or sorted(Path("book").glob("*.ipynb"))):
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=1800, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nb.metadata.pop("widgets", None)  # widget state needs CDN scripts on the page; widgets do not
    nbformat.write(nb, path)          # run there anyway (each has a static figure beside it)
    print(f"{path}: executed in {time.perf_counter() - start:.0f} s")
