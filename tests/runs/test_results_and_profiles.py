"""Results JSON and profiles: data in, data out, with clear errors."""

import json

import pytest

from advinterp_lib.artifacts import MODEL_PARAMETERS
from advinterp_lib.attacks.advset import AdversarialSetRecipe
from advinterp_lib.runs import (
    ChapterRun,
    chapter_parameters,
    profile_names,
    read_results,
    write_results,
)
from advinterp_lib.runs.profiles import ADV_TRAINING, PROFILES, ZOO_TRAINING, adversarial_set_recipe


def test_write_then_read(tmp_path):
    path = write_results(
        "01_x",
        "quick",
        {"acc": 0.9, "per_class": [0.1, 0.2]},
        seed=3,
        wall_time_s=1.234,
        root=tmp_path,
    )
    assert path == tmp_path / "quick" / "01_x.json"
    rec = read_results("quick", "01_x", root=tmp_path)
    assert rec["numbers"] == {"acc": 0.9, "per_class": [0.1, 0.2]}
    assert rec["seed"] == 3 and rec["profile"] == "quick" and rec["wall_time_s"] == 1.23
    for field in ("device", "library_version", "torch_version", "date"):
        assert rec[field]


def test_non_finite_numbers_are_refused(tmp_path):
    with pytest.raises(ValueError, match="numbers.acc"):
        write_results("01_x", "quick", {"acc": float("nan")}, seed=0, wall_time_s=0, root=tmp_path)


def test_read_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="chapter 02_y"):
        read_results("quick", "02_y", root=tmp_path)
    (tmp_path / "quick").mkdir()
    (tmp_path / "quick" / "03_z.json").write_text("{not json")
    with pytest.raises(ValueError, match="03_z.json"):
        read_results("quick", "03_z", root=tmp_path)
    (tmp_path / "quick" / "04_w.json").write_text(json.dumps({"other": 1}))
    with pytest.raises(ValueError, match="not a results file"):
        read_results("quick", "04_w", root=tmp_path)


@pytest.mark.parametrize(
    "profile, chapter, word",
    [
        ("../../../x", "10_concepts_and_wordnet", "profile"),  # -p profile ../../../x wrote outside results/
        ("huge", "10_concepts_and_wordnet", "profile"),
        ("quick", "../../escape", "chapter"),
        ("quick", "a/b", "chapter"),
        ("quick", ".hidden", "chapter"),
    ],
)
def test_a_results_path_is_built_only_from_a_known_profile_and_a_plain_chapter(tmp_path, profile, chapter, word):
    root = tmp_path / "results"
    with pytest.raises(ValueError, match=word):
        write_results(chapter, profile, {"n": 1}, seed=0, wall_time_s=0, root=root)
    with pytest.raises(ValueError, match=word):
        ChapterRun(chapter, profile, 0, root=root).write({"n": 1})
    with pytest.raises(ValueError, match=word):
        read_results(profile, chapter, root=root)
    assert not list(tmp_path.rglob("*.json"))


def test_chapter_run_measures_wall_time(tmp_path):
    run = ChapterRun("01_x", "full", 0, root=tmp_path)
    rec = json.loads(run.write({"n": 1}).read_text())
    assert 0 <= rec["wall_time_s"] < 60 and rec["profile"] == "full"


def test_profiles_are_data_with_the_three_scales():
    assert profile_names() == ["quick", "full", "imagenet"]
    params = chapter_parameters("quick", "01")
    assert params["profile"] == "quick"
    # chapters that train zoo models share one recipe per profile (one cached model)
    for profile, recipe in ZOO_TRAINING.items():
        for chapter, p in PROFILES[profile].items():
            if "train_epochs" in p:
                assert {k: p[k] for k in recipe} == recipe, (profile, chapter)


def test_profile_errors_list_what_exists():
    with pytest.raises(ValueError, match="known profiles: quick, full, imagenet"):
        chapter_parameters("huge", "01")
    with pytest.raises(ValueError, match="covers"):
        chapter_parameters("quick", "99")


def test_the_parameters_that_name_a_model_are_the_profiles_training_keys():
    for profile in ("quick", "full"):
        assert set(MODEL_PARAMETERS) == {"seed", *ZOO_TRAINING[profile], *ADV_TRAINING[profile]}


def test_a_chapters_adversarial_set_recipe_is_in_pixel_units():
    recipe = adversarial_set_recipe(chapter_parameters("full", "12"))
    assert recipe == AdversarialSetRecipe(k=9, step_size=5 / 255, steps=20, eps=0.2)
    assert adversarial_set_recipe(chapter_parameters("full", "11"), eps="eps").eps == 0.2
    assert adversarial_set_recipe(chapter_parameters("quick", "07"), eps=None).eps is None
    assert adversarial_set_recipe(chapter_parameters("quick", "07"), eps=None).step_size == 10 / 255
    with pytest.raises(KeyError, match="advset_eps"):
        adversarial_set_recipe(chapter_parameters("quick", "07"))
