"""Interpretability: what layers and neurons respond to, and what explains a decision.

``interpret.fourier`` (amplitude and phase, radial spectra, low/high-pass filters) is
used as a namespace: ``from advinterp_lib.interpret import fourier``.
"""

from ..stats import MeanInterval, bootstrap_mean, pearson_correlation, spearman_correlation  # defined in stats
from . import fourier
from .agreement import MapAgreement, map_agreement
from .attribution import (
    grad_cam,
    guided_backprop,
    guided_grad_cam,
    occlusion,
    occlusion_forward_passes,
    saliency,
)
from .discriminative import runner_up_correlation, top_two_classes
from .faithfulness import PerturbationCurve, deletion_curve, insertion_curve
from .features import feature_maps, first_conv_weights
from .neighbours import embed, nearest_neighbours, neighbour_label_agreement, neighbours_in_spaces
from .receptive_field import (
    EmpiricalReceptiveField,
    FieldAgreement,
    ReceptiveField,
    calibrate_discrepancy,
    discrepancy_maps,
    empirical_receptive_field,
    field_agreement,
    gradient_receptive_field,
    layer_receptive_field,
    receptive_field_from_gradient,
    theoretical_receptive_field,
)
from .topk import (
    RunningTopK,
    TopActivations,
    class_frequencies,
    live_channels,
    merge_top_activations,
    spread_by_purity,
    top_activating_images,
    top_count,
    top_patches,
)

__all__ = [
    "feature_maps",
    "first_conv_weights",
    "embed",
    "nearest_neighbours",
    "neighbour_label_agreement",
    "neighbours_in_spaces",
    "saliency",
    "guided_backprop",
    "grad_cam",
    "guided_grad_cam",
    "occlusion",
    "occlusion_forward_passes",
    "top_two_classes",
    "runner_up_correlation",
    "pearson_correlation",
    "spearman_correlation",
    "PerturbationCurve",
    "deletion_curve",
    "insertion_curve",
    "TopActivations",
    "RunningTopK",
    "top_count",
    "top_activating_images",
    "merge_top_activations",
    "top_patches",
    "class_frequencies",
    "live_channels",
    "spread_by_purity",
    "ReceptiveField",
    "theoretical_receptive_field",
    "gradient_receptive_field",
    "FieldAgreement",
    "field_agreement",
    "receptive_field_from_gradient",
    "layer_receptive_field",
    "discrepancy_maps",
    "calibrate_discrepancy",
    "EmpiricalReceptiveField",
    "empirical_receptive_field",
    "MapAgreement",
    "MeanInterval",
    "bootstrap_mean",
    "map_agreement",
    "fourier",
]
