"""Figure helpers for the chapters (matplotlib only; no computation), one module a topic.

- :mod:`.grids`: image grids, nearest-neighbour grids, accuracy curves, loss surfaces,
  DeepFool paths (used across chapters).
- :mod:`.maps`: a heat map laid over its image (``overlay``), receptive-field rows.
- :mod:`.neurons`: neighbour agreement, class frequencies, purity (chapters 1-2).
- :mod:`.explanations`: tables of explanation maps, their correlation histograms,
  perturbation curves (chapters 3-4).
- :mod:`.attacks`: adversarial images, loss surfaces, DeepFool steps, error curves,
  transfer heat maps, the black-box attack's progress (chapters 5-8).
- :mod:`.training`: robustness bars and gradient-masking surfaces (chapter 9).
- :mod:`.concepts`: WordNet trees and heat maps, traced decisions (chapters 10, 13).
- :mod:`.consistency`: Figure 5's histograms, top images with their maps, verdict
  bars (chapters 11, 12, 15).
- :mod:`.attacked_explanations`: explanations of attacked images (chapter 14).

Chapters import a figure from its module (``from advinterp_lib.plotting.attacks import
error_curves``); the package re-exports the shared ones below.

Each function draws and returns the figure (or draws on the axes it is given); the
numbers it shows come from the caller. Tests: ``tests/plotting/``.
"""

from .grids import accuracy_curves, deepfool_path_plot, image_grid, loss_surface_plot, neighbour_grid
from .maps import overlay

__all__ = ["image_grid", "neighbour_grid", "accuracy_curves", "loss_surface_plot", "deepfool_path_plot", "overlay"]
