"""`python -m advinterp_lib run 11 --profile imagenet` end to end on a miniature ImageNet val.

The data root holds a miniature ILSVRC-2012 val prepared by data_scripts (and a link to
the real WordNet); TORCH_HOME holds randomly initialised ResNet-18 weights under
torchvision's file name, so `weights="DEFAULT"` finds them without a download. Sizes
are overridden with -p so that the run takes well under a minute on a CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
import torchvision

from advinterp_lib.artifacts.store import load_adversarial_set

WNIDS4 = ["n01440764", "n01443537", "n02123045", "n02123159"]  # tench, goldfish, tabby, tiger cat


@pytest.mark.slow
def test_chapter_11_runs_under_the_imagenet_profile(tmp_path, miniature_val):
    data = miniature_val(WNIDS4, 8, size=(60, 80))
    torch_home = tmp_path / "torch"
    (torch_home / "hub" / "checkpoints").mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18(weights=None).state_dict(),
               torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth")  # fmt: skip

    env = {**os.environ, "ADVINTERP_DATA": str(data), "ADVINTERP_CACHE": str(tmp_path / "cache"),
           "TORCH_HOME": str(torch_home), "MPLBACKEND": "Agg"}  # fmt: skip
    overrides = {"archs": "[resnet18]", "n_images": "4", "k_targets": "2", "adam_steps": "2", "n_bootstrap": "20",
                 "n_neurons_shown": "1", "n_shown": "2", "patch_size": "112", "patch_stride": "112"}  # fmt: skip
    cmd = [sys.executable, "-m", "advinterp_lib", "run", "11", "--profile", "imagenet",
           "--output-dir", str(tmp_path / "runs"), "--results-dir", str(tmp_path / "results")]  # fmt: skip
    for key, value in overrides.items():
        cmd += ["-p", key, value]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    results = json.loads((tmp_path / "results" / "imagenet" / "11_inconsistent_representations.json").read_text())
    numbers = results["numbers"] if "numbers" in results else results
    assert numbers["layer"] == {"resnet18": "net.layer4.1.relu2"}
    assert numbers["neurons"] == {"resnet18": 512}
    assert numbers["n_images"] == 4 and numbers["n_adversarial"] == 8
    assert numbers["adam_step"] == pytest.approx(5 / 255)
    # the adversarial set is in the cache, one part of sharded images with a manifest, and loads again
    (folder,) = (tmp_path / "cache" / "imagenet_adversarial_set").iterdir()
    advset = load_adversarial_set(folder / "part_0000000-0000004")
    assert advset.images_uint8.shape == (8, 3, 224, 224) and advset.k == 2
