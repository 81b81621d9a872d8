"""The reproduction report: loading results of every profile, the verdict rules, the CLI."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from advinterp_lib import __version__
from advinterp_lib.__main__ import main
from advinterp_lib.consistency import consistency_histogram, summarize_consistency
from advinterp_lib.report import (
    ADV_KEY,
    CH12_MODEL_PATHS,
    CLAIMS,
    FINDING,
    NO_RESULT,
    NOT_COMPARABLE,
    NOT_REPRODUCED,
    REPRODUCED,
    VERDICTS,
    At,
    Claim,
    HistogramMean,
    MatchesPaper,
    Ordered,
    RatioAbove,
    RelativeChangeWithin,
    ResultsVersionWarning,
    build_report,
    canonical_keys,
    judge,
    load_results,
    paper,
)
from advinterp_lib.runs import write_results

PROJECT = Path(__file__).resolve().parents[2]
ARCHS = list(paper.ZOO_TO_PAPER)


def _ch11_numbers(seed=0):
    """Chapter 11's layout, built with the library functions chapter 11 uses: neurons
    whose real top images share a concept and whose adversarial ones are mixed."""
    g = torch.Generator().manual_seed(seed)
    real = torch.randint(0, 10, (16, 1), generator=g).repeat(1, 12)  # one concept per neuron
    adv = torch.randint(0, 10, (16, 24), generator=g)  # mixed
    a = torch.eye(10, dtype=torch.float64)
    table1, hist = {}, {}
    for arch in ARCHS:
        s = summarize_consistency(real, adv, a, num_samples=50, seed=seed)
        table1[arch] = s.to_dict()
        counts_r, edges = consistency_histogram(s.consis.float())
        counts_a, _ = consistency_histogram(s.consis_adv.float())
        hist[arch] = {"edges": edges.tolist(), "real": counts_r.tolist(), "adversarial": counts_a.tolist()}
    return {"table1": table1, "histograms": hist}


def _write(root, profile, chapter, numbers):
    return write_results(chapter, profile, numbers, seed=0, wall_time_s=1.0, device="cpu", root=root)


def _finding(report, key, profile="quick"):
    (f,) = [f for f in report.findings if f.claim.key == key and f.profile == profile]
    return f


# ------------------------------------------------------------------------- loading


def test_present_profiles_are_loaded_and_missing_ones_listed(tmp_path):
    _write(tmp_path, "quick", "11_inconsistent_representations", _ch11_numbers())
    _write(tmp_path, "quick", "06_deepfool", {"models": {}})
    (tmp_path / "full").mkdir()  # an empty folder is a missing profile too
    (tmp_path / "quick" / "notes.json").write_text("not a chapter's file, ignored")
    results = load_results(tmp_path)
    assert results.profiles == ("quick",)
    assert results.missing_profiles == ("full", "imagenet")
    assert list(results.runs["quick"]) == ["06", "11"]
    run = results.runs["quick"]["11"]
    assert run.chapter == "11_inconsistent_representations" and run.device.startswith("cpu")
    assert run.wall_time_s == 1.0 and run.library_version == __version__ and not run.stale

    report = build_report(tmp_path)
    assert report.missing_profiles == ("full", "imagenet")
    assert {f.profile for f in report.findings} == {"quick"}
    assert len(report.findings) == len(CLAIMS)
    assert all(f.verdict in VERDICTS for f in report.findings)
    assert "12" in report.missing_chapters["quick"] and "11" not in report.missing_chapters["quick"]
    # a claim of a chapter without results says so, and names the command that measures it
    f = _finding(report, f"table1.{'resnet'}.adv_raises_consis_adv")
    assert f.verdict == NO_RESULT and "run 12 --profile quick" in f.detail
    d = report.to_dict()
    assert set(d["missing_profiles"]) == {"full", "imagenet"}
    assert "python -m advinterp_lib run 11 --profile imagenet" in d["missing_profiles"]["imagenet"]
    json.dumps(d)  # JSON-ready


def test_no_results_at_all_is_a_report_of_missing_profiles(tmp_path):
    report = build_report(tmp_path / "nothing here")
    assert report.profiles == () and report.findings == ()
    assert report.missing_profiles == ("quick", "full", "imagenet")
    assert report.format_text()  # still prints something useful


def test_restricting_to_one_profile(tmp_path):
    _write(tmp_path, "quick", "11_inconsistent_representations", _ch11_numbers())
    _write(tmp_path, "full", "11_inconsistent_representations", _ch11_numbers(seed=1))
    report = build_report(tmp_path, profiles=["full"])
    assert report.profiles == ("full",) and report.missing_profiles == ()
    with pytest.raises(ValueError, match="unknown profile"):
        load_results(tmp_path, profiles=["fast"])


def test_a_result_from_another_library_version_is_warned_and_still_shown(tmp_path):
    path = _write(tmp_path, "quick", "11_inconsistent_representations", _ch11_numbers())
    record = json.loads(path.read_text())
    record["library_version"] = "0.0.1"
    path.write_text(json.dumps(record))
    with pytest.warns(ResultsVersionWarning, match="11_inconsistent_representations.json.*0.0.1"):
        report = build_report(tmp_path)
    run = report.results.runs["quick"]["11"]
    assert run.stale and run.library_version == "0.0.1"
    assert any("0.0.1" in w for w in report.warnings)
    assert _finding(report, "table1.resnet.order").verdict == REPRODUCED  # still judged


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.write_text("{ not json"), "not valid JSON"),
        (lambda p: p.write_text(json.dumps({"chapter": "x"})), "not a results file"),
        (lambda p: _edit(p, lambda r: r.pop("device")), "'device' is missing"),
        (lambda p: _edit(p, lambda r: r.update(wall_time_s="fast")), "'wall_time_s'"),
        (lambda p: _edit(p, lambda r: r.update(profile="full")), "says profile 'full'"),
        (
            lambda p: _edit(p, lambda r: r["numbers"]["table1"]["resnet"].update(consis="high")),
            "numbers.table1.resnet.consis should be a finite number",
        ),
        (
            lambda p: _edit(p, lambda r: r["numbers"]["table1"]["resnet"].update(consis_ci=[0.1, 0.2])),
            "numbers.table1.resnet.consis_ci should be an interval",
        ),
        (lambda p: p.write_bytes(b'{"chapter": "caf\xe9"}'), "not UTF-8"),
        (lambda p: p.write_text("[" * 100_000 + "]" * 100_000), "nests too deeply"),
        (lambda p: p.write_text('{"numbers": ' + "[" * 500 + "]" * 500 + "}"), "more than 64 levels"),
        (
            lambda p: _edit(p, lambda r: r["numbers"].update(table1=[0.5, 0.6])),
            "numbers.table1 should be a dict holding",
        ),
        (
            lambda p: _edit(p, lambda r: r["numbers"]["table1"].update(resnet=0.5)),
            "numbers.table1.resnet should be a dict holding",
        ),
        (
            lambda p: _edit(p, lambda r: r["numbers"]["histograms"].update(resnet="flat")),
            "numbers.histograms.resnet should be a",
        ),
    ],
    ids=[
        "json",
        "no-numbers",
        "no-device",
        "bad-wall-time",
        "wrong-profile",
        "bad-number",
        "bad-interval",
        "not-utf8",
        "nested-100000-deep",
        "nested-500-deep",
        "table-of-wrong-type",
        "row-of-wrong-type",
        "histogram-of-wrong-type",
    ],
)
def test_a_malformed_file_is_an_error_naming_it(tmp_path, damage, message):
    path = _write(tmp_path, "quick", "11_inconsistent_representations", _ch11_numbers())
    damage(path)
    with pytest.raises(ValueError, match=message) as err:
        build_report(tmp_path)
    assert str(path) in str(err.value)


def _edit(path, change):
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


# ------------------------------------------------------------------------- verdict rules


def _claim(rule, paper_value=None, paper_data="ImageNet"):
    return Claim("k", "11", "g", "statement", "source", rule, "paper", paper_value, paper_data)


def _run(tmp_path, numbers, profile="imagenet"):
    _write(tmp_path, profile, "11_x", numbers)
    return load_results(tmp_path, profiles=[profile]).runs[profile]["11"]


def test_ordered_needs_separated_intervals(tmp_path):
    rule = Ordered(At("a"), At("b"), "a_ci", "b_ci")
    cases = {
        (0.3, (0.25, 0.35), 0.6, (0.55, 0.65)): REPRODUCED,  # separated
        (0.3, (0.25, 0.58), 0.6, (0.55, 0.65)): NOT_REPRODUCED,  # right order, intervals overlap
        (0.7, (0.65, 0.75), 0.6, (0.55, 0.65)): NOT_REPRODUCED,  # reversed
    }
    for i, ((a, ca, b, cb), verdict) in enumerate(cases.items()):
        numbers = {"a": a, "b": b, "a_ci": {"low": ca[0], "high": ca[1]}, "b_ci": {"low": cb[0], "high": cb[1]}}
        f = judge(_claim(rule), "quick", _run(tmp_path / str(i), numbers, "quick"))
        assert f.verdict == verdict, (numbers, f.detail)
        assert f.intervals == {"a": ca, "b": cb}
    # an interval of the difference, where stored, decides (it is sharper than two intervals)
    diff = Ordered(At("a"), At("b"), "a_ci", "b_ci", difference_ci="d_ci")
    numbers = {"a": 0.3, "b": 0.6, "a_ci": {"low": 0.2, "high": 0.5}, "b_ci": {"low": 0.4, "high": 0.7}}
    for d_ci, verdict in (((0.1, 0.4), REPRODUCED), ((-0.1, 0.4), NOT_REPRODUCED)):
        run = _run(tmp_path / f"d{d_ci[0]}", {**numbers, "d_ci": {"low": d_ci[0], "high": d_ci[1]}}, "quick")
        assert judge(_claim(diff), "quick", run).verdict == verdict
    # without stored intervals: the point estimates decide, and the finding says so
    f = judge(_claim(Ordered(At("a"), At("b"))), "quick", _run(tmp_path / "p", {"a": 0.3, "b": 0.31}, "quick"))
    assert f.verdict == REPRODUCED and "no interval" in f.detail
    f = judge(_claim(Ordered(At("a"), At("missing"))), "quick", _run(tmp_path / "m", {"a": 0.3}, "quick"))
    assert f.verdict == NO_RESULT and "missing" in f.detail


def test_matches_paper_only_on_the_papers_data(tmp_path):
    rule = MatchesPaper(At("v"), ci="v_ci", rel_tol=0.1)
    numbers = {"v": 0.030, "v_ci": {"low": 0.029, "high": 0.031}}
    run = _run(tmp_path / "i", numbers)
    assert judge(_claim(rule, 0.0300), "imagenet", run).verdict == REPRODUCED  # interval inside 0.030 +- 0.003
    assert judge(_claim(rule, 0.0275), "imagenet", run).verdict == NOT_REPRODUCED  # band [0.02475, 0.03025] < 0.031
    assert judge(_claim(rule, 0.0200), "imagenet", run).verdict == NOT_REPRODUCED
    assert judge(_claim(rule, None), "imagenet", run).verdict == NOT_COMPARABLE  # paper's value unknown
    assert judge(_claim(rule, 0.0280, paper_data="MNIST (LeNet)"), "imagenet", run).verdict == NOT_COMPARABLE
    quick = judge(_claim(rule, 0.0280), "quick", _run(tmp_path / "q", numbers, "quick"))
    assert quick.verdict == NOT_COMPARABLE and quick.values == {"v": 0.030}  # shown, not judged
    # absolute tolerance for accuracies: 2 points
    acc = MatchesPaper(At("v"), abs_tol=0.02)
    assert judge(_claim(acc, 0.045), "imagenet", _run(tmp_path / "a", {"v": 0.064})).verdict == REPRODUCED
    assert judge(_claim(acc, 0.045), "imagenet", _run(tmp_path / "b", {"v": 0.066})).verdict == NOT_REPRODUCED


def test_relative_change_and_ratio_rules(tmp_path):
    barely = RelativeChangeWithin(At("d"), At("c0"), "d_ci", bound=0.05)
    run = _run(tmp_path / "1", {"c0": 0.60, "d": -0.01, "d_ci": {"low": -0.02, "high": 0.0}})
    assert judge(_claim(barely), "imagenet", run).verdict == REPRODUCED  # within 3.3% of 0.60
    run = _run(tmp_path / "2", {"c0": 0.60, "d": -0.09, "d_ci": {"low": -0.10, "high": -0.08}})
    assert judge(_claim(barely), "imagenet", run).verdict == NOT_REPRODUCED  # -15%
    ratio = RatioAbove(At("n"), At("d"), 1.0)
    assert judge(_claim(ratio), "quick", _run(tmp_path / "4", {"n": 0.2, "d": 0.1}, "quick")).verdict == REPRODUCED
    assert judge(_claim(ratio), "quick", _run(tmp_path / "5", {"n": 0.1, "d": 0.2}, "quick")).verdict == NOT_REPRODUCED


def test_histogram_mean_is_the_count_weighted_mean_of_bin_centres(tmp_path):
    numbers = {"h": {"edges": [0.0, 0.5, 1.0], "real": [1, 3], "adversarial": [3, 1]}}
    assert HistogramMean("h", "real").get(numbers, "f") == pytest.approx((0.25 + 3 * 0.75) / 4)
    assert HistogramMean("h", "adversarial").get(numbers, "f") == pytest.approx((3 * 0.25 + 0.75) / 4)
    assert HistogramMean("absent", "real").get(numbers, "f") is None
    with pytest.raises(ValueError, match="B \\+ 1 edges"):
        HistogramMean("h", "real").get({"h": {"edges": [0.0, 1.0], "real": [1, 2]}}, "f")


def _put(numbers, path, value):
    *parents, last = path.split(".")
    for key in parents:
        numbers = numbers.setdefault(key, {})
    numbers[last] = value


def _paper_as_results():
    """The paper's own Table 1 and Table 3, written in the layout the claims read
    (chapter 11's flat rows, and chapter 12's model paths from CH12_MODEL_PATHS)."""
    numbers = {}
    for arch, name in paper.ZOO_TO_PAPER.items():
        t1 = paper.TABLE1[name]
        _put(numbers, f"table1.{arch}.consis", t1["consis"])  # chapter 11
        _put(numbers, f"table1.{arch}.consis_adv", t1["consis_adv"])
        for role, model in (("standard", name), ("adv", f"{name}-Adv")):
            key = CH12_MODEL_PATHS[role].format(arch=arch)
            t1, t3 = paper.TABLE1[model], paper.TABLE3[model]
            _put(numbers, f"table1.{key}", {"consis": t1["consis"], "consis_adv": t1["consis_adv"]})
            _put(
                numbers,
                f"table3.{key}",
                {
                    kind: {top: t3[f"{col}_{top}"] / 100 for top in ("top1", "top5")}
                    for kind, col in (("real", "real"), ("fgsm", "adv"), ("fgsm_paper_eps", "adv"))
                },
            )
        for metric in ("consis", "consis_adv"):  # chapter 12's differences (no interval in the paper)
            d = paper.TABLE1[f"{name}-Adv"][metric] - paper.TABLE1[name][metric]
            _put(numbers, f"gain_vs_standard.{arch}.consistent-AT.{metric}", {"mean": d, "low": d, "high": d})
    # Figure 5's shape: adversarial histograms below the real ones, higher for -Adv
    edges = [0.0, 0.01, 0.02, 0.03]
    _put(numbers, "histograms.resnet", {"edges": edges, "real": [0, 2, 8], "adversarial": [6, 4, 0]})  # chapter 11
    _put(
        numbers,
        f"histograms.{CH12_MODEL_PATHS['standard'].format(arch='resnet')}",
        {"edges": edges, "real": [0, 2, 8], "adversarial": [6, 4, 0]},
    )
    _put(
        numbers,
        f"histograms.{CH12_MODEL_PATHS['adv'].format(arch='resnet')}",
        {"edges": edges, "real": [0, 3, 7], "adversarial": [1, 6, 3]},
    )
    return numbers


def test_the_papers_own_numbers_reproduce_every_claim_about_them(tmp_path):
    numbers = _paper_as_results()
    _write(tmp_path, "imagenet", "11_inconsistent_representations", numbers)
    _write(tmp_path, "imagenet", "12_consistent_adversarial_training", numbers)
    report = build_report(tmp_path, profiles=["imagenet"])
    about_paper = [f for f in report.findings if f.claim.chapter in ("11", "12") and f.claim.kind != FINDING]
    assert len(about_paper) > 40
    assert all(f.verdict == REPRODUCED for f in about_paper), [
        (f.claim.key, f.verdict, f.detail) for f in about_paper if f.verdict != REPRODUCED
    ]
    # the same numbers under a Fashion-MNIST profile: the directions hold, the values are not comparable
    _write(tmp_path, "full", "11_inconsistent_representations", numbers)
    _write(tmp_path, "full", "12_consistent_adversarial_training", numbers)
    full = build_report(tmp_path, profiles=["full"])
    for f in full.findings:
        if f.claim.chapter in ("11", "12") and f.claim.kind != FINDING:
            expected = NOT_COMPARABLE if isinstance(f.claim.rule, MatchesPaper) else REPRODUCED
            assert f.verdict == expected, f.claim.key


def test_a_nested_chapter_12_layout_is_one_template_away(tmp_path, monkeypatch):
    import advinterp_lib.report.report as report_module

    monkeypatch.setitem(report_module.CH12_MODEL_PATHS, "standard", "{arch}.standard")
    monkeypatch.setitem(report_module.CH12_MODEL_PATHS, "adv", "{arch}.consistent-AT")
    numbers = _paper_as_results()
    assert numbers["table1"]["vgg"]["consistent-AT"]["consis_adv"] == paper.TABLE1["VGG-16-Adv"]["consis_adv"]
    _write(tmp_path, "imagenet", "12_consistent_adversarial_training", numbers)
    report = build_report(tmp_path, profiles=["imagenet"], claims=report_module.build_claims())
    ch12 = [f for f in report.findings if f.claim.chapter == "12" and f.claim.kind != FINDING]
    assert ch12 and all(f.verdict == REPRODUCED for f in ch12), [f.claim.key for f in ch12 if f.verdict != REPRODUCED]


def test_torchvision_net_names_are_read_as_the_zoo_names(tmp_path):
    numbers = _paper_as_results()
    renamed = json.loads(json.dumps(numbers).replace('"vgg', '"vgg16').replace('"resnet', '"resnet18'))
    assert "consistent-AT" in renamed["table1"]["vgg16"] and "resnet18" in renamed["histograms"]
    assert canonical_keys(renamed) == numbers
    _write(tmp_path, "imagenet", "11_inconsistent_representations", renamed)
    report = build_report(tmp_path, profiles=["imagenet"])
    assert _finding(report, "table1.vgg.consis", "imagenet").verdict == REPRODUCED
    assert _finding(report, "figure5.resnet.standard", "imagenet").verdict == REPRODUCED


def test_claims_quote_the_paper_and_nothing_else():
    keys = [c.key for c in CLAIMS]
    assert len(keys) == len(set(keys))
    values = {c.key: c.paper_value for c in CLAIMS}
    for arch, name in paper.ZOO_TO_PAPER.items():
        assert values[f"table1.{arch}.consis"] == paper.TABLE1[name]["consis"]
        assert values[f"table3.{ADV_KEY.format(arch=arch)}.fgsm.top1"] == pytest.approx(
            paper.TABLE3[f"{name}-Adv"]["adv_top1"] / 100
        )
        assert values[f"ch9.{arch}.pgd_at_accuracy"] is None  # Madry et al.'s number: unknown to us
    assert paper.TABLE1["ResNet-18"] == {"consis": 0.0261, "consis_adv": 0.0133}
    assert paper.TABLE3["ResNet-18-Adv"]["adv_top1"] == 27.56


# ------------------------------------------------------------------------- the CLI


def _project(tmp_path):
    """A checkout whose results root (roots.results_root: <project>/results) is ours."""
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    return tmp_path / "results"


def _cli(cwd, *args):
    return subprocess.run(
        [sys.executable, "-m", "advinterp_lib", "report", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_cli_report_json_on_a_results_root(tmp_path):
    root = _project(tmp_path)
    _write(root, "quick", "11_inconsistent_representations", _ch11_numbers())
    done = _cli(tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["profiles"] == ["quick"] and set(out["missing_profiles"]) == {"full", "imagenet"}
    assert Path(out["results_root"]) == root.resolve()
    by_key = {f["key"]: f for f in out["findings"]}
    assert by_key["table1.resnet.order"]["verdict"] == REPRODUCED
    assert by_key["table1.resnet.consis"]["verdict"] == NOT_COMPARABLE
    assert all(f["verdict"] in VERDICTS for f in out["findings"])


def test_cli_report_table_and_a_broken_file(tmp_path, monkeypatch, capsys):
    root = _project(tmp_path)
    monkeypatch.chdir(tmp_path)  # roots.project_root() starts from the working directory
    _write(root, "quick", "11_inconsistent_representations", _ch11_numbers())
    assert main(["report", "--profile", "quick"]) == 0
    capsys.readouterr()
    assert main(["report", "--profile", "imagenet", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["profiles"] == [] and list(out["missing_profiles"]) == ["imagenet"]
    (root / "quick" / "06_deepfool.json").write_text("{ broken")
    assert main(["report", "--json"]) == 1
    assert "06_deepfool.json" in capsys.readouterr().err


def test_a_table3_of_the_wrong_type_is_an_error_not_no_result_yet(tmp_path):
    """Chapter 12's table3 as a list (or text) used to read as "no result yet"."""
    path = _write(tmp_path, "quick", "12_consistent_adversarial_training", {"table3": ["vgg", 0.9]})
    with pytest.raises(ValueError, match=r"numbers.table3 should be a dict holding") as err:
        build_report(tmp_path)
    assert str(path) in str(err.value)


def test_the_report_command_names_a_file_that_is_not_utf8(tmp_path, monkeypatch, capsys):
    """`python -m advinterp_lib report` in a checkout whose results/ holds a binary file:
    one line naming the file, exit 1, no traceback."""
    from advinterp_lib.__main__ import main

    for marker in ("_toc.yml", "pyproject.toml"):  # a checkout: the report reads its results/
        (tmp_path / marker).write_text("")
    bad = tmp_path / "results" / "quick" / "11_inconsistent_representations.json"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"\xff\xfe not text")
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--profile", "quick"]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "not UTF-8" in err


# ------------------------------------------------------------------------- chapter 15's parts


def test_chapter15_parts_on_a_quick_profile(tmp_path):
    from advinterp_lib.report import (
        CLAIM_KINDS,
        TABLE1_MODELS,
        describe_profile,
        figure5_histograms,
        imagenet_note,
        paper_shares,
        paper_table3_markdown,
        runs_table,
        table1_comparison,
        verdict_counts_by_group,
        verdict_table,
    )

    _write(tmp_path, "quick", "11_inconsistent_representations", _ch11_numbers())
    report = build_report(tmp_path, profiles=["quick", "imagenet"])
    lines = verdict_table(report).splitlines()
    assert lines[0].startswith("| profile | data | chapters with results | kind |")
    assert lines[-1].startswith("| imagenet | ImageNet | none |") and len(lines) == 2 + len(CLAIM_KINDS) + 1
    groups, counts = verdict_counts_by_group(report, "quick")
    assert sum(map(sum, counts.values())) == len(CLAIMS) and len(groups) == len(set(c.group for c in CLAIMS))
    assert runs_table(report, "quick").splitlines()[2].startswith("| 11_inconsistent_representations | cpu")
    table, share = table1_comparison(report, "quick")
    assert len(table.splitlines()) == 2 + len(TABLE1_MODELS) and set(share) == {"AlexNet", "VGG-16", "ResNet-18"}
    assert share["VGG-16"] == pytest.approx(_finding(report, "table1.vgg.consis_adv").value
                                            / _finding(report, "table1.vgg.consis").value)  # fmt: skip
    assert paper_shares()["VGG-16"] == pytest.approx(0.0187 / 0.0296)
    std, adv = figure5_histograms(report, "quick")
    assert std == _ch11_numbers()["histograms"]["resnet"] and adv is None
    assert figure5_histograms(report, "imagenet") is None
    assert "| real top-1 |" in paper_table3_markdown() and "FGSM ε = 1/255" in paper_table3_markdown()
    text = describe_profile(report, "quick")
    assert (
        text.startswith("### Profile `quick` (Fashion-MNIST)") and "**Reproductions of the paper's claims.** Of" in text
    )
    assert imagenet_note(report).startswith("**ImageNet numbers are not yet measured.**")


def test_trainings_of_one_standard_model_are_reported_with_the_bound(tmp_path):
    """Chapters 11 and 12 and the ablation may hold different trainings of one standard
    model: the text names the architectures whose files agree, lists the others' values
    and how far apart they are (relative to the smallest), the change consistent-AT made
    from each base, and flags a spread beyond the bound."""
    from advinterp_lib.report import describe_base_model_spread

    consis11 = {"alexnet": 0.70, "vgg": 0.50, "resnet": 0.60}
    _write(tmp_path, "full", "11_inconsistent_representations",
           {"table1": {a: {"consis": c, "consis_adv": 0.2} for a, c in consis11.items()}})  # fmt: skip

    def ch12(vgg, ablation_vgg=None):
        table1 = {a: {"standard": {"consis": c}, "consistent-AT": {"consis": 1.1 * c}}
                  for a, c in (consis11 | {"vgg": vgg}).items()}  # fmt: skip
        numbers = {"table1": table1}
        if ablation_vgg is not None:
            rows = {
                "standard": {"consis": {"mean": ablation_vgg}},
                "consistent-AT": {"relative_change_consis": {"mean": -0.1, "low": -0.2, "high": -0.05}},
            }
            numbers["ablation_over_seeds"] = {"archs": {"vgg": {"rows": rows}}}  # fmt: skip
        _write(tmp_path, "full", "12_adversarial_training_with_a_consistent_loss", numbers)
        return describe_base_model_spread(build_report(tmp_path, profiles=["full"]), "full")

    assert ch12(0.50) == ""  # every model the same training
    text = ch12(0.40)
    assert "AlexNet, ResNet-18: the same value in every file" in text
    assert "VGG-16: 0.500 (chapter 11), 0.400 (chapter 12), 25% apart; consistent-AT moved consis by +10.0%" in text
    assert "differ by more than the 5%" in text
    text = ch12(0.49, ablation_vgg=0.495)  # 2% apart: within the bound, said without the warning
    assert "0.495 (the ablation), 2% apart" in text and "-10.0% [-20.0%, -5.0%] over seeds" in text
    assert "more than the" not in text
    assert describe_base_model_spread(build_report(tmp_path, profiles=["full"]), "quick") == ""  # no such runs
