"""advinterp_lib: the companion library of the book *Interpretable Deep Networks
through Adversarial Examples* (a tutorial reproduction of Dong, Bao, Su & Zhu).

Subpackages follow the book's parts and import only "downwards":
``data -> models -> interpret / attacks -> training -> consistency -> runs``;
``plotting`` and ``explore`` sit on top for the notebooks. ``roots``, ``validation``
and ``atomic`` are the foundation; ``attacks.blackbox`` (it trains a surrogate) stands
just above ``training``. The README's "Layout" says why; ``tests/test_architecture.py``
checks every import.
"""

__version__ = "0.1.0"
