"""Interactive explorers for JupyterLab, one module per explorer (ipywidgets).

Each explorer is a function that returns a widget. Its update logic is a pure function
of the controls' values (``neuron_view``, ``attack_view``, ``explanation_view``) that
returns a :class:`View` — a figure, or a message saying what was wrong with the choice
— so it is tested without a front end, and a bad choice never shows a traceback.
On a rendered page the widget shows its initial state; move the controls in a live
kernel (``make setup``, then ``.venv/bin/jupyter lab``).
"""

from .attack import ATTACKS, attack_explorer, attack_view
from .base import View, explorer_widget
from .explanation import METHODS, explanation_explorer, explanation_view
from .neuron import NeuronData, neuron_explorer, neuron_view

__all__ = [
    "ATTACKS",
    "METHODS",
    "NeuronData",
    "View",
    "attack_explorer",
    "attack_view",
    "explanation_explorer",
    "explanation_view",
    "explorer_widget",
    "neuron_explorer",
    "neuron_view",
]
