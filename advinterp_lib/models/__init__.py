"""Models of the book and access to their layers by name.

- :mod:`~advinterp_lib.models.zoo`: small AlexNet-, VGG- and ResNet-style networks
  for 28x28 Fashion-MNIST images (``build("resnet")``).
- :mod:`~advinterp_lib.models.layers`: the input :class:`Normalize` module, layer
  lookup by ``named_modules()`` name, activation capture as a context manager.
- :mod:`~advinterp_lib.models.state`: the model-state chores every family shares
  (:func:`eval_mode` with each submodule's mode restored, :func:`model_device`,
  :func:`predicted_labels`).
"""

from advinterp_lib.models.layers import (
    Normalize,
    capture_activations,
    last_conv_layer,
    layer,
    layer_names,
)
from advinterp_lib.models.state import eval_mode, model_device, predicted_labels
from advinterp_lib.models.zoo import ZOO, AlexNetSmall, BasicBlock, ResNetSmall, VGGSmall, build

__all__ = [
    "ZOO",
    "AlexNetSmall",
    "BasicBlock",
    "Normalize",
    "ResNetSmall",
    "VGGSmall",
    "build",
    "capture_activations",
    "eval_mode",
    "last_conv_layer",
    "layer",
    "layer_names",
    "model_device",
    "predicted_labels",
]
