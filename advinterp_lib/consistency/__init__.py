"""The consistency of representations (Dong et al. 2017): concepts, top activations, consis(n).

- :mod:`.concepts`: classes -> WordNet 3.0 synsets, their distances and the correlation
  matrix A (``a_ij = exp(-d_ij^2 / (2 sigma^2))``).
- :mod:`.activations`: per neuron, the top q of real and of adversarial images, with
  each image's concept (streamed once, O(neurons x k) memory).
- :mod:`.metric`: ``p_n``, ``consis(n) = p_n^T A p_n``, layer averages, histograms and
  bootstrap confidence intervals.
- :mod:`.sensitivity`: whether Table 1's direction (consis_adv < consis) survives each
  choice the paper leaves open (sigma, spatial reduction, the adversarial image's
  concept, fooled images only, the attack's bound).
- :mod:`.tracing`: a prediction's most influential neurons (prediction difference and
  gradient x activation) and how well the two rankings agree.
"""

from ..stats import BootstrapInterval, kendall_tau, top_k_overlap  # defined in stats
from .activations import ConceptActivations, concept_top_activations
from .concepts import class_synsets, correlation_matrix, distance_matrix, synset_distance
from .metric import (
    ConsistencySummary,
    bootstrap_consistency,
    concept_distribution,
    consistency_histogram,
    consistency_scores,
    summarize_consistency,
)
from .sensitivity import (
    ChannelResponses,
    DirectionCheck,
    Variant,
    chance_consistency,
    channel_responses,
    describe_sensitivity,
    direction_check,
    sensitivity_record,
    sensitivity_table,
    source_positions,
    source_rows,
    target_concepts,
)
from .tracing import (
    NeuronInfluence,
    RankAgreement,
    ablation_curve,
    describe_removal,
    neuron_influence,
    rank_agreement,
)

__all__ = [
    "class_synsets",
    "synset_distance",
    "distance_matrix",
    "correlation_matrix",
    "ConceptActivations",
    "concept_top_activations",
    "concept_distribution",
    "consistency_scores",
    "bootstrap_consistency",
    "consistency_histogram",
    "BootstrapInterval",
    "ConsistencySummary",
    "summarize_consistency",
    "DirectionCheck",
    "direction_check",
    "target_concepts",
    "chance_consistency",
    "ChannelResponses",
    "channel_responses",
    "source_positions",
    "source_rows",
    "Variant",
    "sensitivity_record",
    "sensitivity_table",
    "describe_sensitivity",
    "NeuronInfluence",
    "neuron_influence",
    "ablation_curve",
    "describe_removal",
    "RankAgreement",
    "rank_agreement",
    "kendall_tau",
    "top_k_overlap",
]
