"""Figure helpers for the chapters (matplotlib only; no computation), one module a topic.

- :mod:`.grids`: image grids, nearest-neighbour grids, accuracy curves, loss surfaces,
  DeepFool paths.
- :mod:`.maps`: a heat map laid over its image (``overlay``).

Each function draws and returns the figure (or draws on the axes it is given); the
numbers it shows come from the caller. Tests: ``tests/plotting/``.
"""

from .grids import accuracy_curves, deepfool_path_plot, image_grid, loss_surface_plot, neighbour_grid
from .maps import overlay

__all__ = ["image_grid", "neighbour_grid", "accuracy_curves", "loss_surface_plot", "deepfool_path_plot", "overlay"]
