"""``python -m advinterp_lib prepare 12``: the chapter's models and white-box sets, built
ahead of its run under the very keys the chapter then asks for (a real tiny grid)."""

from __future__ import annotations

import pytest

from advinterp_lib.__main__ import main
from advinterp_lib.artifacts import ArtifactCache, adversarial_source, model_parameters, variant_models
from advinterp_lib.consistency import class_synsets, correlation_matrix, distance_matrix
from advinterp_lib.runs.consistent_loss import whitebox_consistency
from advinterp_lib.runs.prepare import PREPARE, chapter12_artifacts
from advinterp_lib.runs.profiles import adversarial_set_recipe, chapter_parameters

TINY = {
    "archs": ["resnet"],
    "variants": ["FGSM-AT"],
    "whitebox_variants": ["standard", "FGSM-AT"],
    "train_size": 64,
    "train_epochs": 1,
    "finetune_size": 16,
    "n_images": 12,
    "whitebox_images": 4,
    "k_targets": 2,
    "adam_steps": 2,
}


def entries(root) -> list[str]:
    return sorted(
        f"{kind.name}/{e.name}" for kind in root.iterdir() for e in kind.iterdir() if not e.name.startswith(".")
    )


def test_chapter12_artifacts_are_the_ones_the_chapter_asks_for(tmp_path) -> None:
    params = chapter_parameters("quick", "12") | TINY
    cache = ArtifactCache(tmp_path)
    walked = chapter12_artifacts(params, cache=cache)
    assert walked == [
        ("model", "resnet", "FGSM-AT"),
        ("whitebox", "resnet", "standard"),
        ("whitebox", "resnet", "FGSM-AT"),
    ]
    built = entries(tmp_path)
    kinds = [e.split("/")[0] for e in built]
    assert kinds.count("zoo_model") == 1 and kinds.count("adversarial_model") == 1
    assert kinds.count("whitebox_adversarial_set") == 2
    assert chapter12_artifacts(params, cache=cache, reverse=True) == walked[::-1]
    # the chapter's own calls (cells 4 and 20 of chapter 12) find every one of them
    grid = variant_models(params["archs"], ["standard", *params["variants"]], cache=cache, **model_parameters(params))
    source = adversarial_source(params["n_images"], seed=params["seed"])
    a = correlation_matrix(distance_matrix(class_synsets(source.synsets)), 1.0)
    whitebox_consistency({row: grid[("resnet", row)] for row in params["whitebox_variants"]}, source.images,
                         source.labels, a, n_sources=params["whitebox_images"], recipe=adversarial_set_recipe(params),
                         num_samples=10, seed=params["seed"], cache=cache)  # fmt: skip
    assert entries(tmp_path) == built
    with pytest.raises(KeyError, match="whitebox_images"):
        chapter12_artifacts({k: v for k, v in params.items() if k != "whitebox_images"}, cache=cache)


def test_the_prepare_command_checks_its_overrides(capsys) -> None:
    assert set(PREPARE) == {"12"}
    assert main(["prepare", "12", "--profile", "quick", "-p", "no_such_knob", "1"]) == 1
    assert "chapter 12 has no parameters ['no_such_knob']" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: only chapter 12 can be prepared
        main(["prepare", "13"])


def test_the_prepare_command_offers_exactly_the_chapters_it_can_prepare() -> None:
    # the parser lists its chapters without importing runs.prepare (and torch's artifacts) for --help
    from advinterp_lib.__main__ import _parser

    prepare = next(
        action.choices["prepare"]
        for action in _parser()._actions
        if getattr(action, "choices", None) and "prepare" in action.choices
    )
    chapter = next(a for a in prepare._actions if a.dest == "chapter")
    assert sorted(chapter.choices) == sorted(PREPARE)
