"""ResNet for CIFAR-sized inputs as LDAM-DRW defines it (resnet32: 464,154 parameters at 10 classes).

16/32/64 channels, n basic blocks per stage, option-A zero-padding shortcuts, Kaiming init,
global average pooling and a linear (or cosine-normalised, for LDAM) classifier. The forward
pass can mix features at layer 0 (the input) or after residual stage 1, 2 or 3, and returns
the classifier's input features for the diagnostics.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from procrustean.errors import UserError
from procrustean.models.family import DEPTHS

Mixer = Callable[[torch.Tensor], torch.Tensor]


def _init(module: nn.Module) -> None:
    if isinstance(module, nn.Linear | nn.Conv2d):
        nn.init.kaiming_normal_(module.weight)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with an option-A (zero-padding, parameter-free) shortcut."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = planes // 4 if (stride != 1 or in_planes != planes) else 0

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if not self.pad:
            return x
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class NormedLinear(nn.Module):
    """Cosine classifier: normalised features times normalised weights (LDAM-DRW)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.weight.data.uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=1) @ F.normalize(self.weight, dim=0)


class ResNetS(nn.Module):
    """CIFAR ResNet with ``blocks`` basic blocks per stage."""

    def __init__(self, blocks: int, num_classes: int, in_channels: int = 3, normed: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        widths, in_planes, stages = (16, 32, 64), 16, []
        for i, width in enumerate(widths):
            layers = []
            for b in range(blocks):
                layers.append(BasicBlock(in_planes, width, 2 if (i > 0 and b == 0) else 1))
                in_planes = width
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3 = stages
        self.linear = NormedLinear(64, num_classes) if normed else nn.Linear(64, num_classes)
        self.feature_dim = 64
        self.num_classes = num_classes
        self.apply(_init)

    def forward(
        self, x: torch.Tensor, mix: Mixer | None = None, mix_layer: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and the classifier's input features; ``mix`` is applied at ``mix_layer``."""
        if mix is not None and mix_layer == 0:
            x = mix(x)
        out = F.relu(self.bn1(self.conv1(x)))
        for k, stage in enumerate((self.layer1, self.layer2, self.layer3), start=1):
            out = stage(out)
            if mix is not None and mix_layer == k:
                out = mix(out)
        features = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.classify(features), features

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """Logits of the classifier's input features."""
        return self.linear(features)


def build_model(name: str, num_classes: int, in_channels: int = 3, normed: bool = False) -> ResNetS:
    """A ResNet of the CIFAR family by name (resnet8/20/32/44/56/110)."""
    if name not in DEPTHS:
        raise UserError(f"unknown model '{name}'; use one of {', '.join(DEPTHS)}")
    return ResNetS(DEPTHS[name], num_classes, in_channels, normed)
