"""The library's shape: two layers, imports point one way, functions stay short, each rule is
written once, and no name in the library, the tests or the benchmarks is defined twice."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "tutorial_lib"
CORE = {p.stem: ast.parse(p.read_text()) for p in sorted(LIB.glob("*.py"))}
LAB = {f"lab.{p.stem}": ast.parse(p.read_text()) for p in sorted((LIB / "lab").glob("*.py"))}
MODULES = CORE | LAB
"""Every library module by its name under ``tutorial_lib`` (``attacks``, ``lab.cards``, ...)."""
BENCHMARKS = {p.stem: ast.parse(p.read_text()) for p in sorted((ROOT / "benchmarks").glob("*.py"))}
MAX_LINES = 40


def _path(module: str) -> Path:
    return LIB / (module.replace(".", "/") + ".py")


def _functions(tree: ast.AST) -> list[ast.FunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _library_imports(tree: ast.AST) -> set[str]:
    """The tutorial_lib modules a module imports, at any depth, by their names under tutorial_lib."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tutorial_lib"):
            package = node.module.removeprefix("tutorial_lib").lstrip(".")
            for alias in node.names:   # `from tutorial_lib(.lab) import x`: x is a module or a name in one
                name = f"{package}.{alias.name}" if package else alias.name
                out.add(name if name in MODULES else package)
        elif isinstance(node, ast.Import):
            out |= {a.name.removeprefix("tutorial_lib.") for a in node.names
                    if a.name.startswith("tutorial_lib.")}
    return out - {""}


def import_graph() -> dict[str, set[str]]:
    """Module -> the library modules it imports (the package's ``__init__`` and ``__main__`` and
    the lab's ``__init__`` excluded: they are entry points, checked on their own below)."""
    return {m: _library_imports(t) - {m} for m, t in MODULES.items()
            if m not in ("__init__", "__main__", "lab.__init__")}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """A cycle of the graph as a list of modules, or [] if it has none."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> list[str]:
        state[m] = 1
        path.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return path[path.index(n):] + [n]
            if n not in state and (cycle := visit(n)):
                return cycle
        state[m] = 2
        path.pop()
        return []

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            return cycle
    return []


def test_cycle_finder_finds_a_cycle_and_accepts_a_chain():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_import_reader_names_modules_of_both_layers():
    tree = ast.parse("from tutorial_lib import zoo\nfrom tutorial_lib.lab import cards\n"
                     "from tutorial_lib.lab.records import stamp\nimport tutorial_lib.attacks\n"
                     "from tutorial_lib.train import train\n")
    assert _library_imports(tree) == {"zoo", "lab.cards", "lab.records", "attacks", "train"}


CORE_LAYERS = ["devices", "stats", "data", "models", "checkpoint", "attacks", "evaluate", "certify", "budgets", "zoo",
               "train", "toy", "interpret", "generate", "tradeoff", "plotting", "claims", "listing"]
LAB_LAYERS = ["lab.records", "lab.recipes", "lab.cards", "lab.training_runs", "lab.certified_runs", "lab.tradeoff_runs", "lab.feature_runs",
              "lab.edition", "lab.slides", "lab.gradebook", "lab.grading", "lab.quiz", "lab.course", "lab.cli"]
LAYERS = CORE_LAYERS + LAB_LAYERS
"""The README's *Library layout* tables, top to bottom: a module imports only modules above it."""


def test_library_imports_point_one_way_without_a_cycle():
    graph = import_graph()
    assert find_cycle(graph) == []
    assert sorted(graph) == sorted(LAYERS), "a new module: add it to LAYERS and the README table"
    upward = [f"{m} imports {n}" for m, deps in graph.items() for n in deps
              if LAYERS.index(n) > LAYERS.index(m)]
    assert not upward, upward


def test_the_core_never_imports_the_lab():
    """The teaching library, its package ``__init__`` included, imports nothing from ``lab``;
    only the ``python -m tutorial_lib`` entry point reaches into it."""
    core = {m: _library_imports(t) for m, t in CORE.items() if m != "__main__"}
    into_lab = [f"{m} imports {n}" for m, deps in core.items() for n in deps if n.startswith("lab")]
    assert not into_lab, into_lab
    assert _library_imports(CORE["__main__"]) == {"lab.cli"}   # a shim: the command line lives in the lab


def test_readme_layout_tables_list_the_modules_in_layer_order():
    text = (ROOT / "README.md").read_text().split("## Library layout", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| `")]
    listed = [name.strip(" `") for row in rows for name in row.split(",")]
    assert [m for m in listed if m in LAYERS] == LAYERS


def _declared_dependencies() -> set[str]:
    """The packages pyproject.toml's ``dependencies`` declare, by import name."""
    text = (ROOT / "pyproject.toml").read_text().split("dependencies = [", 1)[1].split("]", 1)[0]
    return {line.strip().strip('",').split(">")[0].split("=")[0].split("<")[0] for line in text.splitlines()
            if line.strip().startswith('"')}


def test_every_function_level_import_says_why_and_calls_no_declared_dependency_optional():
    assert {"torch", "tqdm"} <= _declared_dependencies()
    bare, wrong = [], []
    for m, tree in MODULES.items():
        lines = _path(m).read_text().splitlines()
        for fn in _functions(tree):
            for node in ast.walk(fn):
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                line, where = lines[node.lineno - 1], f"{m}.py:{node.lineno} in {fn.name}"
                top = (node.module if isinstance(node, ast.ImportFrom) else node.names[0].name).split(".")[0]
                if "#" not in line:
                    bare.append(where)
                elif top in _declared_dependencies() and "optional" in line.split("#", 1)[1]:
                    wrong.append(where)
    assert not bare, f"function-level imports without a reason beside them: {bare}"
    assert not wrong, f"declared dependencies called optional: {wrong}"


def test_no_function_in_the_library_or_the_benchmarks_is_longer_than_40_lines():
    sources = {f"tutorial_lib.{m}": t for m, t in MODULES.items()} | {f"benchmarks.{m}": t for m, t in BENCHMARKS.items()}
    long = [f"{m}.{fn.name}: {fn.end_lineno - fn.lineno + 1} lines" for m, tree in sources.items()
            for fn in _functions(tree) if fn.end_lineno - fn.lineno + 1 > MAX_LINES]
    assert not long, long


def test_the_step_size_rule_is_written_once():
    """Dividing a radius by a number of steps happens in ``attacks.step_size`` and nowhere else,
    in the library and in the benchmarks."""
    places = []
    sources = MODULES | {f"benchmarks.{m}": t for m, t in BENCHMARKS.items()}
    for m, tree in sources.items():
        for fn in _functions(tree):
            for node in ast.walk(fn):
                if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
                    right = node.right
                    name = right.id if isinstance(right, ast.Name) else getattr(right, "attr", "")
                    if name == "steps" and "eps" in ast.unparse(node.left):
                        places.append(f"{m}.{fn.name}")
    assert sorted(set(places)) == ["attacks.step_size"], places


def test_records_are_stamped_in_one_place():
    """Only ``lab.records.stamp`` builds the command-and-hardware record, in the library and in
    the benchmarks that write recorded results."""
    places = []
    sources = {f"tutorial_lib/{m}": t for m, t in MODULES.items()}
    sources |= {f"benchmarks/{m}": t for m, t in BENCHMARKS.items()}
    for where, tree in sources.items():
        for fn in _functions(tree):
            for node in ast.walk(fn):
                if isinstance(node, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "hardware"
                                                      for k in node.keys):
                    places.append(f"{where}.{fn.name}")
    assert places == ["tutorial_lib/lab.records.stamp"], places


def redefined(tree: ast.Module) -> list[str]:
    """Names a module binds twice at its top level with ``def`` or ``class``: the second replaces the
    first before anything runs (a shadowed test never runs; a shadowed helper is dead code)."""
    seen, twice = set(), []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name in seen:
                twice.append(f"{node.name} (line {node.lineno})")
            seen.add(node.name)
    return twice


def test_the_redefinition_finder_finds_a_shadowed_function():
    assert redefined(ast.parse("def a(): pass\ndef b(): pass\ndef a(): pass\n")) == ["a (line 3)"]
    assert redefined(ast.parse("def a(): pass\nclass B: pass\n")) == []


def test_no_test_helper_or_library_function_is_defined_twice():
    files = [*sorted((ROOT / "tests").glob("*.py")), *sorted(LIB.rglob("*.py")), *sorted((ROOT / "benchmarks").glob("*.py"))]
    twice = {str(p.relative_to(ROOT)): names for p in files if (names := redefined(ast.parse(p.read_text())))}
    assert not twice, twice
