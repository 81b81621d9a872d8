"""Studies: an experiment's whole pipeline, as functions a chapter calls and tests check.

- :mod:`~advinterp_lib.studies.explanations_under_attack`: chapter 14 -- four attacks on
  each model, the maps of three explanation methods before and after, their agreement,
  and the Fourier view of the perturbations.

A study computes and returns (no cache, no files): the chapter supplies its models and
images and renders what comes back.
"""
