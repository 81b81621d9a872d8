"""Checkpoints: exact round trip of tensors and plain values, atomic replacement,
and detection of truncated, corrupted or foreign files."""

import math

import pytest
import torch

from advinterp_lib.training import CheckpointError, load_checkpoint, save_checkpoint


def _state() -> dict:
    g = torch.Generator().manual_seed(0)
    return {
        "epoch": 3,
        "lr": 0.003,
        "nan": math.nan,
        "name": "resnet",
        "done": False,
        "none": None,
        "weights": {"w": torch.randn(4, 5, generator=g), "b": torch.arange(5.0)},
        "steps": torch.tensor(7),
        "mask": torch.tensor([True, False]),
        "half": torch.randn(3, generator=g).to(torch.bfloat16),
        "betas": (0.9, 0.999),
        "groups": [{"params": [0, 1], "lr": 1e-3}],
        "by_id": {0: torch.ones(2), 1: torch.zeros(2)},
    }


def _assert_same(a, b):
    assert type(a) is type(b)
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


def test_round_trip_is_exact(tmp_path):
    path = save_checkpoint(tmp_path / "sub" / "c.pt", _state())
    assert path == tmp_path / "sub" / "c.pt"
    _assert_same(load_checkpoint(path), _state())


def test_no_temporary_files_are_left(tmp_path):
    save_checkpoint(tmp_path / "c.pt", _state())
    save_checkpoint(tmp_path / "c.pt", {"epoch": 4})
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]
    assert load_checkpoint(tmp_path / "c.pt") == {"epoch": 4}


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", {"epoch": 1})
    with pytest.raises(TypeError, match=r"state\['model'\].*Linear"):
        save_checkpoint(path, {"epoch": 2, "model": torch.nn.Linear(2, 2)})
    assert load_checkpoint(path) == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_a_truncated_file_is_detected(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", _state())
    data = path.read_bytes()
    for keep in (len(data) // 2, len(data) - 10, 100):
        path.write_bytes(data[:keep])
        with pytest.raises(CheckpointError, match="unreadable.*Delete it"):
            load_checkpoint(path)


def test_a_flipped_byte_in_tensor_data_is_detected(tmp_path):
    weights = torch.arange(1000, dtype=torch.float32)
    path = save_checkpoint(tmp_path / "c.pt", {"w": weights})
    data = bytearray(path.read_bytes())
    at = bytes(data).find(weights.numpy().tobytes())
    assert at > 0  # torch.save stores tensor bytes uncompressed
    data[at + 2000] ^= 0x01  # torch.load does not notice (no CRC check): the checksum does
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match its stored SHA-256"):
        load_checkpoint(path)


def test_a_foreign_file_is_rejected(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"epoch": 1}, path)
    with pytest.raises(CheckpointError, match="not an advinterp checkpoint"):
        load_checkpoint(path)


def test_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "nothing.pt")


def test_state_must_be_a_dict(tmp_path):
    with pytest.raises(TypeError, match="dict"):
        save_checkpoint(tmp_path / "c.pt", [1, 2])
