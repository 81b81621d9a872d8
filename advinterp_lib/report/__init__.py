"""The reproduction report: our results beside the paper's numbers, claim by claim.

- :mod:`~advinterp_lib.report.paper`: the paper's numbers, as data;
- :mod:`~advinterp_lib.report.rules`: the operands a claim reads and the verdict rules;
- :mod:`~advinterp_lib.report.claims`: the claim specs (chapter, JSON path, paper value, rule, kind);
- :mod:`~advinterp_lib.report.report`: loading every profile's results, judging each
  claim, and rendering (chapter 15, ``python -m advinterp_lib report``).

Everything chapter 15 and the command line need is importable from here.
"""

from .report import *  # noqa: F403 (re-exports report.__all__, which names claims' and rules' share too)
from .report import __all__  # noqa: F401
