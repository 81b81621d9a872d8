"""The benchmark suite: how close each operation is to its physical cost (issue 8).

Run ``make bench`` or ``python -m benchmarks [--quick] [--only GROUP]``; see
``benchmarks/__main__.py`` for the results file and ``benchmarks/common.py`` for the
shared timing chores. One module per group, each with ``run(quick=False) -> dict``.
"""
