"""Studies: one chapter's experiment around the library's methods, as functions the
chapter calls and tests check (the cases it picks, the loops it runs, its tables and
sentences), so that the chapter reads as prose, short calls and figures.

- :mod:`~advinterp_lib.studies.neuron_detectors`: chapter 2 -- what the last conv layer's
  neurons respond to: top images and patches, receptive fields, class purity.
- :mod:`~advinterp_lib.studies.gradient_explanations`: chapter 3 -- the maps of the top and
  the runner-up class, and how far they differ per method.
- :mod:`~advinterp_lib.studies.perturbation_explanations`: chapter 4 -- the cost of
  occlusion, its agreement with the gradient methods, deletion and insertion curves.
- :mod:`~advinterp_lib.studies.adversarial_examples`: chapter 5 -- FGSM's linearity table,
  the least-likely target, the loss surface's corners.
- :mod:`~advinterp_lib.studies.deepfool_study`: chapter 6 -- Algorithm 1 on a two-class
  net, the multiclass attack's titles and its comparison with FGSM.
- :mod:`~advinterp_lib.studies.iterative_attacks`: chapter 7 -- I-FGSM's error against the
  number of steps, the ensemble attack's targets, and transfer to held-out models.
- :mod:`~advinterp_lib.studies.black_box_attacks`: chapter 8 -- the seed and evaluation
  sets, the substitute's rounds, and the baselines the attack is compared with.
- :mod:`~advinterp_lib.studies.adversarial_training`: chapter 9 -- robustness of each
  training objective, the strong attack, gradient masking.
- :mod:`~advinterp_lib.studies.concepts`: chapter 10 -- the classes' synsets, the paper's
  illustrative distances beside WordNet's, consis of made-up neurons against σ.
- :mod:`~advinterp_lib.studies.inconsistency`: chapter 11 -- real and adversarial top
  images of the last conv layer's neurons, and the sensitivity of Table 1.
- :mod:`~advinterp_lib.studies.tracing`: chapter 13 -- decisions traced to the neurons
  that support them, and neurons removed from adversarial images.
- :mod:`~advinterp_lib.studies.explanations_under_attack`: chapter 14 -- four attacks on
  each model, the maps of three explanation methods before and after, their agreement,
  and the Fourier view of the perturbations.

A study sits above the methods it uses (``consistency`` included) and below
``artifacts``: it computes and returns (no cache, no files); the chapter supplies its
models and images and renders what comes back.
"""
