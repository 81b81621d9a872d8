"""Running the book: the artifact cache, profiles, results JSON and the papermill runner.

This is the "effects at the edge" layer: files, caching and progress live here,
while the subpackages below compute and return.
"""

from .cache import ArtifactCache, config_key
from .profiles import PROFILES, chapter_parameters, profile_names
from .results import ChapterRun, read_results, write_results

__all__ = [
    "ArtifactCache",
    "config_key",
    "PROFILES",
    "chapter_parameters",
    "profile_names",
    "ChapterRun",
    "read_results",
    "write_results",
]
