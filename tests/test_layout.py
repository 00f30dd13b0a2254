"""The library's shape: imports point one way, functions stay short, each rule is written once."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "tutorial_lib"
MODULES = {p.stem: ast.parse(p.read_text()) for p in sorted(LIB.glob("*.py"))}
MAX_LINES = 40


def _functions(tree: ast.AST) -> list[ast.FunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _library_imports(tree: ast.AST) -> set[str]:
    """The tutorial_lib modules a module imports, at any depth."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tutorial_lib"):
            if node.module == "tutorial_lib":
                out |= {a.name for a in node.names if a.name in MODULES}
            else:
                out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names
                    if a.name.startswith("tutorial_lib.")}
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the library modules it imports (the package's __init__ and CLI excluded: they
    import everything by design)."""
    return {m: _library_imports(t) - {m} for m, t in MODULES.items()
            if m not in ("__init__", "__main__")}


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


LAYERS = ["devices", "stats", "data", "models", "checkpoint", "attacks", "evaluate", "budgets", "zoo", "train",
          "toy", "interpret", "generate", "tradeoff", "experiments", "plotting", "claims", "listing",
          "edition", "slides", "grading", "course"]
"""The README's *Library layout* table, top to bottom: a module imports only modules above it."""


def test_library_imports_point_one_way():
    graph = import_graph()
    assert "zoo" in graph["train"] and "experiments" not in graph["zoo"]  # the zoo's read side
    assert find_cycle(graph) == []
    assert sorted(graph) == sorted(LAYERS), "a new module: add it to LAYERS and the README table"
    upward = [f"{m} imports {n}" for m, deps in graph.items() for n in deps
              if LAYERS.index(n) > LAYERS.index(m)]
    assert not upward, upward


def test_readme_layout_table_lists_the_modules_in_layer_order():
    text = (ROOT / "README.md").read_text().split("## Library layout", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| `")]
    listed = [name.strip(" `") for row in rows for name in row.split(",")]
    assert [m for m in listed if m in LAYERS] == LAYERS


def test_every_function_level_import_says_why():
    bare = []
    for m, tree in MODULES.items():
        lines = (LIB / f"{m}.py").read_text().splitlines()
        for fn in _functions(tree):
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and "#" not in lines[node.lineno - 1]:
                    bare.append(f"{m}.py:{node.lineno} in {fn.name}")
    assert not bare, f"function-level imports without a reason beside them: {bare}"


def test_no_library_function_is_longer_than_40_lines():
    long = [f"{m}.{fn.name}: {fn.end_lineno - fn.lineno + 1} lines" for m, tree in MODULES.items()
            for fn in _functions(tree) if fn.end_lineno - fn.lineno + 1 > MAX_LINES]
    assert not long, long


def test_the_step_size_rule_is_written_once():
    """Dividing a radius by a number of steps happens in ``attacks.step_size`` and nowhere else."""
    places = []
    for m, tree in MODULES.items():
        for fn in _functions(tree):
            for node in ast.walk(fn):
                if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
                    right = node.right
                    name = right.id if isinstance(right, ast.Name) else getattr(right, "attr", "")
                    if name == "steps" and "eps" in ast.unparse(node.left):
                        places.append(f"{m}.{fn.name}")
    assert sorted(set(places)) == ["attacks.step_size"], places


def test_records_are_stamped_in_one_place():
    """Only ``experiments.stamp`` builds the command-and-hardware record, in the library and in
    the benchmarks that write recorded results."""
    places = []
    sources = {f"tutorial_lib/{m}": t for m, t in MODULES.items()}
    sources |= {f"benchmarks/{p.stem}": ast.parse(p.read_text()) for p in (ROOT / "benchmarks").glob("*.py")}
    for where, tree in sources.items():
        for fn in _functions(tree):
            for node in ast.walk(fn):
                if isinstance(node, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "hardware"
                                                      for k in node.keys):
                    places.append(f"{where}.{fn.name}")
    assert places == ["tutorial_lib/experiments.stamp"], places
