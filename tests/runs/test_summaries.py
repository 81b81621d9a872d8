"""Each chapter's summary rows resolve in its committed full run, and render beside a run's own numbers."""

import pytest

from advinterp_lib.runs.prose import committed_results, not_run_note
from advinterp_lib.runs.results import write_results
from advinterp_lib.runs.summaries import SUMMARIES, chapter_summary


@pytest.mark.parametrize("chapter", sorted(SUMMARIES))
def test_every_row_reads_a_number_of_the_committed_full_run(chapter):
    record = committed_results(chapter)
    if record is None:
        pytest.skip(f"{chapter} has no committed full run")
    table = chapter_summary(chapter, record["numbers"])  # the committed run itself: one column, every row in it
    assert table.startswith("**This run is the committed `full` run**"), table
    rows = [line for line in table.split("\n")[4:] if line.startswith("|")]  # the claims line follows the table
    assert rows and all(line.count(" – ") == 0 and line.count("|") == 3 for line in rows), table


def test_the_deepfool_summary_sets_a_quick_run_beside_the_full_one(tmp_path):
    model = {"deepfool_success": 1.0, "deepfool_mean_iterations": 3.0, "deepfool_rho": 0.02, "fgsm_rho": 0.05}
    full = {"n_images": 10000, "binary_test_accuracy": 0.97, "binary_success": 1.0, "binary_mean_iterations": 2.8,
            "models": {"vgg": model, "resnet": model}}  # fmt: skip
    write_results("06_deepfool", "full", full, seed=0, wall_time_s=1500.0, root=tmp_path)
    quick = {"n_images": 200, "binary_success": 1.0, "binary_mean_iterations": 2.5, "models": {"resnet": model}}
    lines = chapter_summary("06_deepfool", quick, root=tmp_path).split("\n")
    assert "| test images attacked | 200 | 10,000 |" in lines
    assert "| resnet: FGSM's minimal ρ̂ / DeepFool's | 2.5× | 2.5× |" in lines
    assert "| vgg: DeepFool fooled | – | 100.0% |" in lines  # a model only the full run has
    assert "Of the chapter's 8 asserted claims, 8 hold in the committed full run." in lines  # then its claims
    assert chapter_summary("06_deepfool", quick, root=tmp_path / "none") == not_run_note("06_deepfool")


def test_a_chapter_without_a_summary_is_named():
    with pytest.raises(KeyError, match="no summary for '99_x'"):
        chapter_summary("99_x", {})
