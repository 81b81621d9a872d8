"""The numbers the book reproduces, as the papers state them: plain data, no code.

Dong, Bao, Su & Zhu, *Towards Interpretable Deep Neural Networks by Leveraging
Adversarial Examples* (arXiv 1708.05493; revised as arXiv 1901.09035) measured on
ILSVRC-2012 val (+ Broden) with ImageNet-trained AlexNet, VGG-16 and ResNet-18.
The values below are copied from the project's notes on the paper
(``paper_notes.md``) and, for the anchors other chapters quote, from those chapters'
cited text. Where neither gives a number, the value is ``None``: unknown, never
guessed. The reproduction report (:mod:`advinterp_lib.report.report`) sets our
results beside these.
"""

from __future__ import annotations

PAPER = "Dong, Bao, Su & Zhu (arXiv 1708.05493; 1901.09035)"
PAPER_DATA = "ImageNet"  # ILSVRC-2012 val (+ Broden for the consistency metric)

# The zoo's architectures (advinterp_lib.models.zoo) mirror the paper's three nets.
ZOO_TO_PAPER: dict[str, str] = {"alexnet": "AlexNet", "vgg": "VGG-16", "resnet": "ResNet-18"}

# Table 1: average consis(n) / consis_adv(n) over the last convolutional layer.
TABLE1: dict[str, dict[str, float]] = {
    "AlexNet": {"consis": 0.0162, "consis_adv": 0.0116},
    "AlexNet-Adv": {"consis": 0.0161, "consis_adv": 0.0121},
    "VGG-16": {"consis": 0.0296, "consis_adv": 0.0187},
    "VGG-16-Adv": {"consis": 0.0287, "consis_adv": 0.0220},
    "ResNet-18": {"consis": 0.0261, "consis_adv": 0.0133},
    "ResNet-18-Adv": {"consis": 0.0251, "consis_adv": 0.0206},
}

# The paper's illustration of the WordNet distance (Sec. 3): d(Persian cat, wolfhound) = 4
# > d(tabby cat, kitty cat) = 2, keyed by the WordNet 3.0 synsets of those words (our
# reading). An illustration of the idea, not a measurement: chapter 10 computes what
# WordNet 3.0 gives for the same pairs.
DISTANCE_ILLUSTRATION: dict[tuple[str, str], int] = {
    ("persian_cat.n.01", "wolfhound.n.01"): 4,
    ("tabby.n.01", "kitty.n.04"): 2,
}

# Table 3: accuracy in percent on ImageNet val, real images and FGSM images at
# eps = 1 on the 0..255 pixel scale (1/255 in our [0, 1] units).
TABLE3_FGSM_EPS = 1 / 255
TABLE3: dict[str, dict[str, float]] = {
    "AlexNet": {"real_top1": 54.58, "real_top5": 78.17, "adv_top1": 4.44, "adv_top5": 22.94},
    "VGG-16": {"real_top1": 68.15, "real_top5": 88.30, "adv_top1": 8.60, "adv_top5": 36.94},
    "ResNet-18": {"real_top1": 66.30, "real_top5": 87.09, "adv_top1": 4.41, "adv_top5": 31.8},
    "AlexNet-Adv": {"real_top1": 43.92, "real_top5": 68.80, "adv_top1": 17.45, "adv_top5": 38.12},
    "VGG-16-Adv": {"real_top1": 62.55, "real_top5": 84.66, "adv_top1": 25.62, "adv_top5": 56.17},
    "ResNet-18-Adv": {"real_top1": 54.01, "real_top5": 77.84, "adv_top1": 27.56, "adv_top5": 55.61},
}

# Figure 5: histograms of consis(n) and consis_adv(n) over ResNet-18's and
# ResNet-18-Adv's last-layer neurons. Our notes keep its shape, not its bin counts.
FIGURE5_SHAPE = (
    "consis_adv(n) lies below consis(n) for the standard model; for the -Adv model the "
    "consis_adv(n) histogram moves up while consis(n) barely moves"
)
FIGURE5_COUNTS = None  # unknown: the bin counts are not in our notes

# Anchors other chapters quote.
# Moosavi-Dezfooli et al., DeepFool (CVPR 2016), Table 1, as chapter 6 cites it:
# rho_adv = E ||r(x)||_2 / ||x||_2 on MNIST with LeNet.
DEEPFOOL_RHO: dict[str, object] = {"data": "MNIST (LeNet)", "deepfool": 0.20, "fgsm": 1.0}
# Madry et al. (ICLR 2018): PGD-AT accuracy under PGD on (Fashion-)MNIST. No chapter
# and none of our notes state its number, so it stays unknown.
MADRY_PGD_AT_ACCURACY = None

# Chapters 13 and 14 check claims stated in words, without numbers:
# - Dong et al. (v1, Figure 1c) trace a prediction to the neurons whose removal changes
#   the class score most (prediction difference): those neurons carry the decision.
TRACING_CLAIM = "the neurons ranked first by prediction difference carry the prediction"
# - Selvaraju et al. (Grad-CAM, ICCV 2017) report that Grad-CAM still localises the true
#   class on adversarial images; the presentation repeats it ("Grad-CAM is said to be
#   robust to adversarial examples") and asks whether phase or amplitude carries a
#   perturbation (a question, no answer given).
GRAD_CAM_ROBUSTNESS_CLAIM = "Grad-CAM's map of the true class survives an adversarial perturbation"

# The consistent loss's weights as the paper states them (Sec. 5): L = alpha CE(x) +
# (1 - alpha) CE(x*) + beta ||phi(x) - phi(x*)||.
CONSISTENT_LOSS: dict[str, float] = {"alpha": 0.5, "beta": 0.1}
