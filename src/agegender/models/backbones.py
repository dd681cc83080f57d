"""VGG16-BN and ResNet50 backbones from torchvision's definitions, adapted to small faces.

The ImageNet classifiers are dropped: each backbone ends in global average pooling,
so any input size from 32 px up works, and returns one feature vector per image.
ImageNet initialisation is only taken from torchvision's local cache: there is no
download at run time.
"""

from __future__ import annotations

import torch.nn as nn
import torchvision

from agegender.models.registry import register_backbone


def _imagenet_weights(enum):
    """Return torchvision weights if already cached on disk, else raise a clear error."""
    from pathlib import Path

    import torch.hub

    weights = enum.DEFAULT
    file = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not file.is_file():
        raise FileNotFoundError(
            f"ImageNet weights {file.name} are not in the local cache ({file.parent}). This program "
            f"never downloads at run time: copy the file there from a machine with internet, or build "
            f"the model with pretrained=False (from scratch, as agegender train does)."
        )
    return weights


@register_backbone("vgg16")
def vgg16_bn(pretrained: bool = False) -> tuple[nn.Module, int]:
    """VGG16 with batch norm (13 conv layers); 512 features."""
    weights = _imagenet_weights(torchvision.models.VGG16_BN_Weights) if pretrained else None
    net = torchvision.models.vgg16_bn(weights=weights)
    return nn.Sequential(net.features, nn.AdaptiveAvgPool2d(1), nn.Flatten()), 512


@register_backbone("resnet50")
def resnet50(pretrained: bool = False) -> tuple[nn.Module, int]:
    """ResNet50 (torchvision v1.5); 2048 features."""
    weights = _imagenet_weights(torchvision.models.ResNet50_Weights) if pretrained else None
    net = torchvision.models.resnet50(weights=weights)
    net.fc = nn.Identity()
    return net, 2048
