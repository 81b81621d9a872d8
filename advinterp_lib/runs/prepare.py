"""Build a chapter's costliest artifacts ahead of its run, in a second process.

On two CPU cores a chapter's full-profile run is one process, most of it spent building
models and attack sets one after another. ``python -m advinterp_lib prepare 12 --profile
full --reverse`` walks the same artifacts from the other end while ``run 12`` goes
forward: the artifact cache's per-entry lock makes each process wait for, or use, what
the other builds, and the chapter then finds everything in the cache. A killed
preparation resumes artifact by artifact; nothing is measured or written to ``results/``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tqdm.auto import tqdm

from ..artifacts import (
    ArtifactCache,
    adversarial_source,
    adversarial_variant,
    model_parameters,
    whitebox_adversarial_set,
)
from .profiles import adversarial_set_recipe


def chapter12_artifacts(
    params: Mapping[str, Any],
    *,
    reverse: bool = False,
    cache: ArtifactCache | None = None,
    progress: bool = False,
) -> list[tuple[str, str, str]]:
    """Chapter 12's own models and white-box sets, built and cached as the chapter asks
    for them: the fine-tune of every architecture of ``params["archs"]`` and variant of
    ``params["variants"]``, then the white-box set of each ``whitebox_variants`` model
    (the paper's attack on the first ``whitebox_images`` sources of the shared set, seeded
    with ``params["seed"]``). The shared set itself is left to the chapter (or to
    ``python -m advinterp_lib ablation``, which builds it first).

    Returns:
        ``(kind, arch, row)`` of every artifact, ``kind`` ``"model"`` or ``"whitebox"``, in
        the order walked (``reverse``: from the last white-box set back).

    Raises:
        KeyError: a parameter the chapter's models or sets need is missing.
    """
    training, recipe = model_parameters(params), adversarial_set_recipe(params)
    missing = [k for k in ("archs", "variants", "whitebox_variants", "whitebox_images", "n_images") if k not in params]
    if missing:
        raise KeyError(f"chapter 12's parameters lack {', '.join(missing)}")
    archs, seed, n = list(params["archs"]), int(params["seed"]), int(params["whitebox_images"])
    jobs = [("model", a, v) for a in archs for v in params["variants"]]
    jobs += [("whitebox", a, row) for a in archs for row in params["whitebox_variants"]]
    if reverse:
        jobs.reverse()
    source = adversarial_source(int(params["n_images"]), seed=seed)
    for kind, arch, row in tqdm(jobs, desc="chapter 12's artifacts", unit="artifact", disable=not progress):
        model = adversarial_variant(arch, row, **training, cache=cache, progress=progress)
        if kind == "whitebox":
            whitebox_adversarial_set(
                model, source.images[:n], source.labels[:n], recipe, seed=seed, cache=cache, progress=progress
            )
    return jobs


#: What ``python -m advinterp_lib prepare`` can build, by chapter number.
PREPARE: dict[str, Callable[..., list[tuple[str, str, str]]]] = {"12": chapter12_artifacts}
