"""The test suite's own layout: pytest imports each test module by its basename (the test
folders have no ``__init__.py``), so two files with one name break the collection of the
whole suite -- which running either file alone does not show."""

from collections import Counter
from pathlib import Path


def test_no_two_test_files_share_a_name():
    names = Counter(p.name for p in Path(__file__).parent.rglob("test_*.py"))
    assert [name for name, n in names.items() if n > 1] == []
