"""The library's layers import one way only (the README's "Layout" section says why).

Read from the source of every module of ``advinterp_lib`` (its AST: nothing is
imported to check it), every import statement counts -- at module level, inside a
function, under ``if TYPE_CHECKING`` -- and so does ``importlib.import_module`` with a
literal name. Importing ``a.b.c`` also runs ``a`` and ``a.b``, so those count too.

A module may import its own package and anything in a lower layer; never a higher
layer, and never a sibling of its own layer (``attacks`` and ``interpret`` stand side
by side and neither uses the other). The checker is also run on small made-up
sources below, to show that it catches what it should.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

LIBRARY = "advinterp_lib"
ROOT = Path(__file__).resolve().parents[1] / LIBRARY

#: Bottom to top. Each layer lists its units (a package, or a module) side by side;
#: a module belongs to the unit with the longest matching name.
LAYERS: tuple[tuple[str, ...], ...] = (
    # foundation: the version, data and cache roots, argument checks, atomic files, markdown tables, timing
    (
        LIBRARY,
        f"{LIBRARY}.roots",
        f"{LIBRARY}.validation",
        f"{LIBRARY}.atomic",
        f"{LIBRARY}.tables",
        f"{LIBRARY}.timing",
    ),
    (f"{LIBRARY}.stats",),  # correlations, overlaps of top sets, bootstrap intervals
    (f"{LIBRARY}.data",),
    (f"{LIBRARY}.models",),  # including models.state: eval mode, device, batched labels
    (f"{LIBRARY}.attacks", f"{LIBRARY}.interpret"),
    (f"{LIBRARY}.training",),  # adversarial training uses the attacks
    (f"{LIBRARY}.attacks.blackbox",),  # the one attack that trains a model (its surrogate)
    (f"{LIBRARY}.consistency",),  # consis(n) and its analyses
    # a study is one chapter's experiment around the methods below (no cache, no files)
    (f"{LIBRARY}.studies",),
    (f"{LIBRARY}.artifacts",),  # the cache, trained models, adversarial sets (files and progress from here up)
    (f"{LIBRARY}.runs",),  # profiles, results JSON, the runner, the ablation and other non-chapter runs
    (f"{LIBRARY}.report",),  # the paper's numbers, claims, verdict rules, the report
    (f"{LIBRARY}.plotting",),
    (f"{LIBRARY}.explore",),
    (f"{LIBRARY}.__main__",),  # the command line
)

#: Top-level packages beside the library that it must never import.
OUTSIDE = ("data_scripts", "benchmarks", "tests", "book")


@dataclass(frozen=True)
class Import:
    """One import of ``target`` by a module, at ``line``; ``in_function`` when it sits
    inside a function (executed only when the function runs)."""

    target: str
    line: int
    in_function: bool


def module_name(path: Path, root: Path = ROOT) -> tuple[str, bool]:
    """``(dotted name, is a package)`` of a file under the library's folder."""
    parts = path.relative_to(root.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def library_modules(root: Path = ROOT) -> dict[str, tuple[str, bool]]:
    """Every module of the library: name -> (source, is a package)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        name, package = module_name(path, root)
        modules[name] = (path.read_text(encoding="utf-8"), package)
    return modules


def imports_of(source: str, module: str, *, package: bool, known: Iterable[str] = ()) -> list[Import]:
    """Every absolute module name ``source`` (the text of ``module``) imports, relative
    imports resolved; ``from p import x`` names ``p.x`` when ``p.x`` is in ``known``
    (a submodule), else ``p``. Parent packages of each name are listed too."""
    known = set(known)
    here = module.split(".") if package else module.split(".")[:-1]
    found: list[Import] = []

    def add(name: str, node: ast.AST, in_function: bool) -> None:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            found.append(Import(".".join(parts[:i]), node.lineno, in_function))

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    add(alias.name, child, inside)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = here[: len(here) - (child.level - 1)]
                    parent = ".".join(base + ([child.module] if child.module else []))
                else:
                    parent = child.module or ""
                for alias in child.names:
                    sub = f"{parent}.{alias.name}"
                    add(sub if sub in known else parent, child, inside)
            elif (
                isinstance(child, ast.Call)
                and child.args
                and isinstance(child.args[0], ast.Constant)
                and isinstance(child.args[0].value, str)
                and getattr(child.func, "attr", getattr(child.func, "id", None)) in ("import_module", "__import__")
            ):
                add(child.args[0].value, child, inside)
            visit(child, inside)

    visit(ast.parse(source), False)
    return found


def unit_of(module: str, layers: tuple[tuple[str, ...], ...] = LAYERS) -> tuple[int, str] | None:
    """``(layer index, unit)`` of a library module: the unit with the longest name that
    is the module or a package above it (the library's root package only matches itself)."""
    best = None
    for index, units in enumerate(layers):
        for unit in units:
            matches = module == unit or (module.startswith(unit + ".") and unit != LIBRARY)
            if matches and (best is None or len(unit) > len(best[1])):
                best = (index, unit)
    return best


def layer_violations(
    modules: Mapping[str, tuple[str, bool]], layers: tuple[tuple[str, ...], ...] = LAYERS
) -> list[str]:
    """One line per import that goes up a layer, sideways to a sibling unit, or out of
    the library to ``OUTSIDE``; and per module no layer claims."""
    problems = []
    for module, (source, package) in sorted(modules.items()):
        mine = unit_of(module, layers)
        if mine is None:
            problems.append(f"{module}: in no layer; add it to LAYERS (and to the README's Layout)")
            continue
        found: dict[tuple[int, str], str] = {}  # (line, unit) -> the problem, once per statement
        for imp in imports_of(source, module, package=package, known=modules):
            where = f"{module}:{imp.line}{' (inside a function)' if imp.in_function else ''}"
            top = imp.target.split(".")[0]
            if top in OUTSIDE:
                found[imp.line, top] = f"{where} imports {imp.target}, outside the library"
                continue
            theirs = unit_of(imp.target, layers) if top == LIBRARY else None
            if theirs is None or theirs[1] == mine[1]:
                continue
            if theirs[0] > mine[0]:
                found[imp.line, theirs[1]] = (
                    f"{where} imports {imp.target}: {mine[1]} (layer {mine[0]}) "
                    f"may not import the higher {theirs[1]} (layer {theirs[0]})"
                )
            elif theirs[0] == mine[0]:
                found[imp.line, theirs[1]] = (
                    f"{where} imports {imp.target}: {mine[1]} and {theirs[1]} "
                    f"are siblings in layer {mine[0]} and may not import each other"
                )
        problems.extend(found.values())
    return problems


def hidden_cycles(modules: Mapping[str, tuple[str, bool]]) -> list[str]:
    """Imports inside a function whose target imports the importer back (directly or
    through other modules): a cycle hidden from import time, which a layer check
    between packages cannot see inside one package."""
    graph: dict[str, dict[str, bool]] = {}
    for module, (source, package) in modules.items():
        edges = graph.setdefault(module, {})
        for imp in imports_of(source, module, package=package, known=modules):
            if imp.target in modules and imp.target != module and not module.startswith(imp.target + "."):
                edges[imp.target] = edges.get(imp.target, True) and imp.in_function

    def reaches(start: str, goal: str) -> bool:
        seen, todo = {start}, [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            for nxt in graph.get(node, {}):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    return [
        f"{a} imports {b} inside a function, and {b} leads back to {a}"
        for a, edges in sorted(graph.items())
        for b, only_in_function in sorted(edges.items())
        if only_in_function and reaches(b, a)
    ]


# ------------------------------------------------------------------- the library


def test_every_library_import_goes_down_the_layers():
    modules = library_modules()
    assert f"{LIBRARY}.training.loop" in modules and len(modules) > 50
    assert layer_violations(modules) == []


def test_no_import_cycle_hides_inside_a_function():
    assert hidden_cycles(library_modules()) == []


def test_every_layer_unit_exists():
    modules = library_modules()
    for units in LAYERS:
        for unit in units:
            assert unit in modules, f"LAYERS names {unit}, which is not a module of the library"


# ---------------------------------------------------- the checker, on made-up code


def _fake(sources: Mapping[str, str]) -> dict[str, tuple[str, bool]]:
    """Library module name (without ``advinterp_lib.``) -> source; a name ending in
    ``/`` is a package (its ``__init__``)."""
    return {f"{LIBRARY}.{name.rstrip('/')}": (source, name.endswith("/")) for name, source in sources.items()}


def test_imports_are_resolved_relative_to_the_module_or_package():
    source = "from ..runs.artifacts import trained_model\nfrom . import loop\nimport advinterp_lib.data\n"
    known = {f"{LIBRARY}.training.loop"}
    found = {i.target for i in imports_of(source, f"{LIBRARY}.training.fake", package=False, known=known)}
    assert found >= {f"{LIBRARY}.runs", f"{LIBRARY}.runs.artifacts", f"{LIBRARY}.training.loop", f"{LIBRARY}.data"}
    found = {i.target for i in imports_of("from .base import x\n", f"{LIBRARY}.attacks", package=True)}
    assert f"{LIBRARY}.attacks.base" in found


@pytest.mark.parametrize(
    "source",
    [
        "from ..runs.artifacts import trained_model\n",  # module level
        "def main():\n    from ..runs.artifacts import trained_model\n",  # hidden in a function
        "import typing\nif typing.TYPE_CHECKING:\n    from advinterp_lib.runs import cache\n",
        "import importlib\ndef f():\n    return importlib.import_module('advinterp_lib.runs.profiles')\n",
    ],
)
def test_the_checker_catches_a_lower_layer_importing_a_higher_one(source):
    problems = layer_violations(
        _fake(
            {
                "training.fake": source,
                "training/": "",
                "runs/": "",
                "runs.artifacts": "",
                "runs.cache": "",
                "runs.profiles": "",
            }
        )
    )
    assert len(problems) >= 1 and all("advinterp_lib.training.fake" in p for p in problems)
    assert "may not import the higher advinterp_lib.runs" in problems[0]
    assert ("inside a function" in problems[0]) == ("def " in source)


def test_the_checker_catches_siblings_and_the_outside_and_allows_going_down():
    problems = layer_violations(_fake({"interpret.fake": "from ..attacks.fgsm import fgsm\n", "attacks.fgsm": ""}))
    assert len(problems) == 1 and "siblings" in problems[0]
    problems = layer_violations(_fake({"models.fake": "import data_scripts.fashion_mnist\n"}))
    assert len(problems) == 1 and "outside the library" in problems[0]
    # the black-box attack stands above training, but the attacks package may not import it
    assert layer_violations(_fake({"attacks.blackbox": "from ..training import train\n", "training/": ""})) == []
    problems = layer_violations(_fake({"attacks/": "from .blackbox import blackbox_attack\n", "attacks.blackbox": ""}))
    assert len(problems) == 1 and "advinterp_lib.attacks.blackbox" in problems[0]
    source = "from ..models.state import eval_mode\nfrom ..attacks import fgsm\n"
    assert layer_violations(_fake({"consistency.fake": source, "models.state": "", "attacks/": ""})) == []
    assert layer_violations(_fake({"newthing": ""})) == [
        f"{LIBRARY}.newthing: in no layer; add it to LAYERS (and to the README's Layout)"
    ]


def test_the_checker_finds_a_cycle_hidden_inside_a_function():
    fake = _fake(
        {
            "training.loop": "def train():\n    from . import distributed\n",
            "training.distributed": "from .loop import train\n",
        }
    )
    assert hidden_cycles(fake) == [
        f"{LIBRARY}.training.loop imports {LIBRARY}.training.distributed inside a "
        f"function, and {LIBRARY}.training.distributed leads back to {LIBRARY}.training.loop"
    ]
    fake = _fake({"training.loop": "from . import distributed\n", "training.distributed": ""})
    assert hidden_cycles(fake) == []
