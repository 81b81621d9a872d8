from __future__ import annotations

import time

import pytest

from advinterp_lib.timing import timed


def test_timed_returns_the_result_and_the_seconds() -> None:
    out, seconds = timed(lambda a, *, b: (time.sleep(0.05), a + b)[1], 2, b=3)
    assert out == 5
    assert 0.05 <= seconds < 5
    with pytest.raises(TypeError, match="fn must be callable"):
        timed(3)  # type: ignore[arg-type]
