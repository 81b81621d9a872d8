"""Same seed, same numbers: a chapter's library pipeline run twice on the CPU, once in
this process (after other code has used torch's global generator) and once in a fresh
process, each with its own empty artifact cache, gives bit-identical results.

The pipeline is chapter 11's in miniature: train a zoo model (through the cache), FGSM,
stream the top activations of real and adversarial images, WordNet concepts, consis and
consis_adv with bootstrap intervals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

PIPELINE = textwrap.dedent(
    """
    import hashlib, json
    import torch
    from advinterp_lib.attacks import fgsm
    from advinterp_lib.consistency import (class_synsets, concept_top_activations, correlation_matrix,
                                           distance_matrix, summarize_consistency)
    from advinterp_lib.data import load
    from advinterp_lib.artifacts import trained_model
    from advinterp_lib.artifacts.cache import ArtifactCache


    def sha(t):
        return hashlib.sha256(t.detach().contiguous().numpy().tobytes()).hexdigest()


    def pipeline(cache_dir, seed=0):
        model = trained_model("alexnet", train_size=200, train_epochs=1, seed=seed, device="cpu",
                              cache=ArtifactCache(cache_dir), progress=False)
        test = load("fashion-mnist", "test").subset(60, seed=seed)
        x_adv = fgsm(model, test.images, test.labels, eps=0.05)
        with torch.no_grad():
            clean = (model(test.images).argmax(1) == test.labels).float().mean().item()
            adv = (model(x_adv).argmax(1) == test.labels).float().mean().item()
        a = correlation_matrix(distance_matrix(class_synsets(test.synsets)))
        acts = concept_top_activations(model, test.images, test.labels, x_adv, test.labels,
                                       num_concepts=len(test.class_names), fraction=0.1)
        summary = summarize_consistency(acts.real_concepts, acts.adversarial_concepts, a,
                                        num_samples=50, seed=seed)
        return {
            "weights": sha(torch.cat([p.flatten() for p in model.state_dict().values() if p.is_floating_point()])),
            "x_adv": sha(x_adv),
            "accuracy": [clean.hex(), adv.hex()],
            "top_real": acts.real.indices.tolist(),
            "top_adv": acts.adversarial.indices.tolist(),
            "consis": [v.hex() for v in summary.consis.tolist()],
            "consis_adv": [v.hex() for v in summary.consis_adv.tolist()],
            "summary": json.loads(json.dumps(summary.to_dict())),
        }
    """
)

CHILD = PIPELINE + textwrap.dedent(
    """
    import sys
    torch.set_num_threads(1)
    print(json.dumps(pipeline(sys.argv[1])))
    """
)


@pytest.fixture(scope="module")
def fashion_mnist_ready():
    from advinterp_lib.data import DataNotFoundError, load

    try:
        load("fashion-mnist", "test")
    except DataNotFoundError as err:
        pytest.skip(f"Fashion-MNIST is not prepared: {err}")


@pytest.mark.slow
def test_a_chapter_pipeline_gives_identical_numbers_in_two_runs(tmp_path, fashion_mnist_ready):
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "cache_a")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    assert child.returncode == 0, child.stderr
    first = json.loads(child.stdout.strip().splitlines()[-1])

    namespace: dict = {}
    exec(compile(PIPELINE, "pipeline", "exec"), namespace)  # our own source, not data
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.rand(1234)  # this process has used the global generator: it must not matter
        second = namespace["pipeline"](tmp_path / "cache_b")
    finally:
        torch.set_num_threads(threads)

    assert second == first
    assert first["accuracy"][0] != first["accuracy"][1]  # the attack did something to compare
    assert 0.0 < first["summary"]["consis"] <= 1.0
