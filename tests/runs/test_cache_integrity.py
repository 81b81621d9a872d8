"""A cached artifact that is truncated or has one flipped byte is detected, never
used, and rebuilt by get_or_build; entries from before checksums still load."""

import json

import pytest
import torch

from advinterp_lib.runs.cache import ArtifactCache, CorruptArtifactError


def _build_counter():
    calls = []

    def build(work):
        calls.append(work)
        return {"w": torch.arange(1000, dtype=torch.float32)}

    return build, calls


def _flip_tensor_byte(path):
    data = bytearray(path.read_bytes())
    # the float32 999.0 of the last element is the bytes 00 c0 79 44; flip one of them
    i = data.rfind(bytes.fromhex("00c07944"))
    assert i > 0
    data[i + 1] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["truncated", "flipped byte"])
def test_a_damaged_artifact_is_detected_and_rebuilt(tmp_path, damage):
    cache = ArtifactCache(tmp_path)
    build, calls = _build_counter()
    good = cache.get_or_build("model", {"k": 1}, build)
    path = cache.folder("model", {"k": 1}) / "artifact.pt"
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:-200])
    else:
        _flip_tensor_byte(path)
    with pytest.raises(CorruptArtifactError, match="cannot be read"):
        cache.load("model", {"k": 1})
    with pytest.warns(RuntimeWarning, match="rebuilding"):
        again = cache.get_or_build("model", {"k": 1}, build)
    assert len(calls) == 2
    assert torch.equal(again["w"], good["w"])
    assert torch.equal(cache.load("model", {"k": 1})["w"], good["w"])  # the rebuilt file verifies
    assert sorted(p.name for p in path.parent.iterdir()) == ["artifact.pt", "config.json"]


def test_the_checksum_is_recorded_beside_the_config(tmp_path):
    import hashlib

    cache = ArtifactCache(tmp_path)
    cache.get_or_build("model", {"k": 2}, _build_counter()[0])
    folder = cache.folder("model", {"k": 2})
    record = json.loads((folder / "config.json").read_text())
    assert record["config"] == {"k": 2}
    assert record["sha256"] == hashlib.sha256((folder / "artifact.pt").read_bytes()).hexdigest()


def test_an_entry_without_a_recorded_checksum_still_loads(tmp_path):
    """Entries cached before checksums were recorded stay usable (weights_only still guards them)."""
    cache = ArtifactCache(tmp_path)
    build, calls = _build_counter()
    cache.get_or_build("model", {"k": 3}, build)
    config = cache.folder("model", {"k": 3}) / "config.json"
    record = json.loads(config.read_text())
    del record["sha256"]
    config.write_text(json.dumps(record))
    assert torch.equal(cache.get_or_build("model", {"k": 3}, build)["w"], torch.arange(1000.0))
    assert len(calls) == 1
