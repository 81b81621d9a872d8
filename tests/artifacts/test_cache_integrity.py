"""A cached artifact that is truncated or has one flipped byte is detected, never
used, and rebuilt by get_or_build; so is one whose checksum cannot be read."""

import json

import pytest
import torch

from advinterp_lib.artifacts.cache import ArtifactCache, CorruptArtifactError


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


def _drop_checksum(config):
    record = json.loads(config.read_text())
    del record["sha256"]
    config.write_text(json.dumps(record))


@pytest.mark.parametrize(
    "damage", ["config.json deleted", "config.json truncated", "no sha256", "not UTF-8", "sha256 not a string"]
)
def test_an_entry_whose_checksum_cannot_be_read_is_rebuilt_never_loaded(tmp_path, damage):
    """A missing or unreadable checksum is a damaged entry: with config.json gone, cut
    short or without its sha256, a corrupted artifact.pt would otherwise load unchecked."""
    cache = ArtifactCache(tmp_path)
    build, calls = _build_counter()
    cache.get_or_build("model", {"k": 3}, build)
    folder = cache.folder("model", {"k": 3})
    config, artifact = folder / "config.json", folder / "artifact.pt"
    _flip_tensor_byte(artifact)  # the attack: corrupt the artifact, then hide the checksum
    if damage == "config.json deleted":
        config.unlink()
    elif damage == "config.json truncated":
        config.write_text(config.read_text()[:40])
    elif damage == "no sha256":
        _drop_checksum(config)
    elif damage == "not UTF-8":
        config.write_bytes(b"\xff\xfe" + config.read_bytes())
    else:
        config.write_text(json.dumps({**json.loads(config.read_text()), "sha256": 12}))
    with pytest.raises(CorruptArtifactError, match="cannot be checked"):
        cache.load("model", {"k": 3})
    with pytest.warns(RuntimeWarning, match="rebuilding"):
        again = cache.get_or_build("model", {"k": 3}, build)
    assert len(calls) == 2
    assert torch.equal(again["w"], torch.arange(1000, dtype=torch.float32))
    assert "sha256" in json.loads(config.read_text())  # the rebuilt entry is checked again
    assert torch.equal(cache.load("model", {"k": 3})["w"], again["w"])
