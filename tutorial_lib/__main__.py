"""``python -m tutorial_lib ...``: the course's command line, which lives in the lab (``tutorial_lib.lab.cli``)."""
from tutorial_lib.lab.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
