"""Running the book: profiles, results JSON, the papermill runner, and the runs that
are not a chapter (chapter 12's ablation over seeds, training under torchrun, chapter
11's ImageNet adversarial set on several GPUs).

The artifacts every run shares (models, adversarial sets) come from
:mod:`advinterp_lib.artifacts`; the report that reads the results is
:mod:`advinterp_lib.report`.
"""

from .profiles import PROFILES, chapter_parameters, profile_names
from .results import ChapterRun, read_results, write_results

__all__ = [
    "PROFILES",
    "chapter_parameters",
    "profile_names",
    "ChapterRun",
    "read_results",
    "write_results",
]
