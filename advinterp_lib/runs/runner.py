"""Execute a chapter with a profile's parameters through papermill.

``python -m advinterp_lib run 01 --profile full -p train_epochs 5`` writes the
executed notebook to ``runs/<profile>/<NN_slug>.ipynb``; the chapter itself writes
``results/<profile>/<NN_slug>.json``. A failing run keeps the partially executed
notebook and names the failing cell.

A ``-p`` value becomes Python source in the notebook's injected-parameters cell, so it
is checked before any kernel starts (:func:`parse_override`, :func:`check_overrides`):
only plain YAML -- numbers, ``true``/``false``, text, ``null``, and lists and dicts of
them; no tags (``!!binary`` would reach the kernel as unescaped bytes), dates, sets or
anchors -- and of the type of the parameter's default in the chapter's ``parameters``
cell (an int is fine where a float is expected). ``profile`` and ``results_dir`` are
the runner's (:data:`RESERVED`): ``--profile`` and ``--results-dir`` set them.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .. import roots
from .chapters import Chapter, find_chapter
from .profiles import chapter_parameters


class ChapterFailed(RuntimeError):
    """A chapter's notebook raised; the partial notebook is kept at ``output``.

    Attributes:
        chapter, output: the chapter and the partially executed notebook.
        cell: index of the failing cell in the chapter's notebook (0-based, as in
            the .ipynb file; None if unknown).
        first_line: the first non-blank line of the failing cell's source.
        error: ``"ExceptionName: message"``.
    """

    def __init__(
        self,
        chapter: Chapter,
        output: Path,
        detail: str,
        *,
        cell: int | None = None,
        first_line: str = "",
        error: str = "",
    ):
        super().__init__(f"chapter {chapter.name} failed: {detail}\npartially executed notebook kept at {output}")
        self.chapter, self.output = chapter, output
        self.cell, self.first_line, self.error = cell, first_line, error


def _chapter_cell_index(executed: Path, exec_index: int) -> int | None:
    """The failing cell's index in the chapter file: papermill's index counts the
    injected-parameters cell (and, in the saved notebook, an error banner cell)."""
    try:
        import nbformat

        cells = nbformat.read(executed, as_version=4).cells
    except Exception:  # the partial notebook could not be read: say less, not wrong
        return None
    injected = [i for i, c in enumerate(cells) if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    return exec_index - 1 if injected and injected[0] < exec_index else exec_index


#: Parameters the runner sets itself, with the option that sets them.
RESERVED: dict[str, str] = {"profile": "--profile", "results_dir": "--results-dir"}

# The YAML types a -p value may use: plain scalars, and lists and dicts of them.
_PLAIN_SCALARS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null")}
_SEQ, _MAP = "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
_PLAIN_VALUE = "a plain value (a number, true/false, text, null, or a list or dict of them)"


def _check_yaml_node(node: yaml.Node, key: str, seen: set[int]) -> None:
    if id(node) in seen:
        raise ValueError(f"-p {key}: YAML anchors and aliases are not allowed; expected {_PLAIN_VALUE}")
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode) and node.tag in _PLAIN_SCALARS:
        return
    if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
        for item in node.value:
            _check_yaml_node(item, key, seen)
        return
    if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
        for k, v in node.value:
            if not (isinstance(k, yaml.ScalarNode) and k.tag == "tag:yaml.org,2002:str"):
                raise ValueError(f"-p {key}: dict keys must be plain text, got {k.tag} {k.value!r}")
            _check_yaml_node(v, key, seen)
        return
    prefix = "tag:yaml.org,2002:"
    kind = "!!" + node.tag[len(prefix) :] if node.tag.startswith(prefix) else node.tag
    hint = " (a date; quote it to pass text)" if kind == "!!timestamp" else ""
    raise ValueError(f"-p {key}: YAML {kind} values are not allowed{hint}; expected {_PLAIN_VALUE}")


def parse_override(key: str, text: str) -> tuple[str, Any]:
    """``-p key value``: the value is read as YAML, so ``5`` is an int, ``[a, b]`` a list,
    and text that is not YAML is the text itself.

    Raises:
        ValueError: a value that is not plain YAML (a number, true/false, text, null, or
            a list or dict of them): a tag (``!!binary``, ``!!python/...``, ``!custom``),
            a date, a set, an anchor/alias, or a non-finite number.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return key, text
    if node is not None:
        _check_yaml_node(node, key, set())
    value = yaml.safe_load(text)
    check_plain(value, f"-p {key}")
    return key, value


def check_plain(value: Any, where: str) -> None:
    """``value`` must be a plain parameter value: None, bool, int, finite float, str, or a
    list or str-keyed dict of them (what papermill writes back as Python source safely).
    Raises TypeError naming ``where`` and what came, ValueError for NaN or infinity."""
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: expected a finite number, got {value}")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_plain(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, item in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: dict keys must be text, got {type(k).__name__} {k!r}")
            check_plain(item, f"{where}.{k}")
        return
    raise TypeError(f"{where}: expected {_PLAIN_VALUE}, got {type(value).__name__}")


def notebook_defaults(path: str | Path) -> dict[str, Any]:
    """The literal defaults of a chapter's ``parameters`` cell (the code cell tagged
    ``parameters``, else the first code cell): ``{name: value}`` for each ``name = <literal>``
    line, read with ``ast.literal_eval`` (nothing is executed)."""
    import nbformat

    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    cell = next(
        (c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), cells[0] if cells else None
    )
    if cell is None:
        return {}
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return {}
    defaults = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            try:
                defaults[stmt.targets[0].id] = ast.literal_eval(stmt.value)
            except ValueError:  # not a literal: no type to check against
                pass
    return defaults


def _type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _matches(value: Any, default: Any) -> str | None:
    """None when ``value`` fits the type of ``default``, else the expected type's name."""
    if default is None:
        return None  # an optional parameter: any plain value
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "bool"
    if isinstance(default, int):
        return None if isinstance(value, int) and not isinstance(value, bool) else "int"
    if isinstance(default, float):
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else "float (or int)"
    if isinstance(default, str):
        return None if isinstance(value, str) else "str"
    if isinstance(default, (list, tuple)):
        if not isinstance(value, list):
            return "list"
        kinds = {type(d) for d in default}
        if len(kinds) == 1:
            (example,) = default[:1]
            for item in value:
                inner = _matches(item, example)
                if inner is not None:
                    return f"list of {inner}"
        return None
    if isinstance(default, dict):
        return None if isinstance(value, dict) else "dict"
    return None


def check_overrides(
    where: str,
    params: Mapping[str, Any],
    overrides: Mapping[str, Any],
    *,
    defaults: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Check ``overrides`` against a chapter's ``params`` and return them.

    Each name must be one of ``params`` and not :data:`RESERVED`; each value must be
    plain (:func:`check_plain`) and of the type of its default (``defaults[name]``, the
    chapter's ``parameters`` cell, else ``params[name]``). Raises ValueError (unknown
    or reserved name) or TypeError (wrong type) naming ``where``, the parameter, the
    expected type and what came.
    """
    defaults = {**params, **(defaults or {})}
    checked = {}
    for key, value in overrides.items():
        if key in RESERVED:
            raise ValueError(f"{where}: -p {key} is not allowed: the runner sets {key!r} itself (use {RESERVED[key]})")
        if key not in params:
            known = ", ".join(k for k in params if k not in RESERVED)
            raise ValueError(f"{where} has no parameter {key!r}; its parameters: {known}")
        check_plain(value, f"{where}: parameter {key!r}")
        expected = _matches(value, defaults[key])
        if expected is not None:
            raise TypeError(
                f"{where}: parameter {key!r} expects {expected} (its default is {defaults[key]!r}), "
                f"got {_type_name(value)} {value!r:.80}"
            )
        checked[key] = value
    return checked


def _make_folder(folder: Path, option: str) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"{option} {folder} cannot be created: {err.strerror or err}") from None
    return folder


def run_chapter(
    spec: str,
    profile: str = "quick",
    overrides: Mapping[str, Any] | None = None,
    *,
    output_dir: str | Path | None = None,
    results_dir: str | Path | None = None,
    kernel_name: str = "python3",
    progress: bool = True,
    book_dir: str | Path | None = None,
) -> Path:
    """Run one chapter under ``profile`` with ``overrides`` and return the executed
    notebook's path.

    ``output_dir`` receives the executed notebook (default ``runs/<profile>/``);
    ``results_dir`` the results JSON, for a chapter with a ``results_dir`` parameter
    (default: the project's ``results/``). Everything is checked before the kernel
    starts.

    Raises:
        ValueError: an unknown chapter, profile or parameter; a reserved parameter
            (``profile``, ``results_dir``) in ``overrides``; a value that is not plain
            YAML; a folder that cannot be created; ``results_dir`` for a chapter
            without that parameter.
        TypeError: a value of another type than the parameter's default.
        ChapterFailed: a cell raised.
    """
    import papermill as pm  # heavy import, only when running

    chapter = find_chapter(spec, book_dir)
    params = chapter_parameters(profile, chapter.number)
    params.update(check_overrides(f"chapter {chapter.name}", params, overrides or {},
                                  defaults=notebook_defaults(chapter.path)))  # fmt: skip
    if results_dir is not None:
        if "results_dir" not in params:
            raise ValueError(
                f"chapter {chapter.name} has no results_dir parameter: it writes its results "
                f"under the project's results/<profile>/, so --results-dir does not apply"
            )
        params["results_dir"] = str(_make_folder(Path(results_dir).resolve(), "--results-dir"))
    out_dir = Path(output_dir) if output_dir is not None else roots.project_root() / "runs" / profile
    _make_folder(out_dir, "--output-dir")
    output = out_dir / f"{chapter.name}.ipynb"
    try:
        pm.execute_notebook(
            str(chapter.path),
            str(output),
            parameters=params,
            cwd=str(chapter.path.parent),
            kernel_name=kernel_name,
            progress_bar=progress,
        )
    except pm.PapermillExecutionError as err:
        cell = _chapter_cell_index(output, err.cell_index)
        first_line = next((line.strip() for line in (err.source or "").splitlines() if line.strip()), "")
        error = f"{err.ename}: {err.evalue}"
        where = f"cell {cell} of {chapter.path.name}" if cell is not None else f"cell In [{err.exec_count}]"
        detail = f"{where} (In [{err.exec_count}]), which begins `{first_line}`: {error}"
        raise ChapterFailed(chapter, output, detail, cell=cell, first_line=first_line, error=error) from None
    return output
