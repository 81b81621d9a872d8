"""What every explorer shares: the :class:`View` its update function returns, and the
widget that calls that function whenever a control moves."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure


@dataclass
class View:
    """The result of an explorer's update: a figure, or a message (never both missing).

    Attributes:
        figure: the picture to show, or None when the choice could not be shown.
        message: one line for the reader — what is shown, or what was wrong and what
            to choose instead.
        numbers: the values behind the figure (predictions, scores), for tests and
            for readers who want them.
    """

    figure: Figure | None = None
    message: str = ""
    numbers: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.figure is not None


def pixels(image: torch.Tensor) -> np.ndarray:
    """An image [C, H, W] in [0, 1] as an array imshow takes ([H, W] grey or [H, W, 3])."""
    image = image.detach().cpu()
    return (image.permute(1, 2, 0) if image.shape[0] == 3 else image[0]).numpy()


def problem(message: str) -> View:
    """A view that shows only ``message`` (a bad choice of a control)."""
    return View(None, message)


def choice_problem(name: str, value: object, choices: list[str] | tuple[str, ...]) -> View | None:
    """A :func:`problem` when ``value`` is not among ``choices``, else None."""
    if value in choices:
        return None
    return problem(f"unknown {name} {value!r}; choose one of: {', '.join(map(str, choices))}")


def range_problem(name: str, value: object, low: int, high: int, what: str = "") -> View | None:
    """A :func:`problem` unless ``value`` is an int in ``[low, high]``, else None."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        extent = f" ({what})" if what else ""
        return problem(f"{name} {value!r} is out of range: choose an integer from {low} to {high}{extent}")
    return None


def explorer_widget(controls: Mapping[str, Any], update: Callable[..., View], *, title: str):
    """A widget of ``controls`` (name -> ipywidget with ``.value``) above the current view.

    Every change of a control calls ``update(**{name: control.value})`` and shows its
    figure or message; an unexpected exception is shown as a one-line message (the
    update functions return messages for every bad choice they know of).
    """
    import ipywidgets as widgets
    from IPython.display import display

    out = widgets.Output()
    note = widgets.HTML()

    def refresh(_change: object = None) -> None:
        values = {name: c.value for name, c in controls.items()}
        try:
            view = update(**values)
        except Exception as err:  # noqa: BLE001 - a live widget shows a message, never a traceback
            view = problem(f"could not show this choice ({type(err).__name__}: {err})")
        with out:
            out.clear_output(wait=True)
            if view.figure is not None:
                display(view.figure)
                plt.close(view.figure)
        colour = "#555" if view.ok else "#b00"
        note.value = f"<span style='color:{colour}'>{html.escape(view.message)}</span>"

    for control in controls.values():
        control.observe(refresh, names="value")
    refresh()
    row = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))  # wraps on narrow pages
    box = widgets.VBox([widgets.HTML(f"<b>{html.escape(title)}</b>"), row, note, out])
    box.refresh = refresh  # tests and notebooks can redraw after changing several controls
    return box
