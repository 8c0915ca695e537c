"""The CIFAR ResNet family: LDAM-DRW's parameter count, feature access, mixing hook."""

import pytest
import torch

from procrustean.errors import UserError
from procrustean.models.resnet import build_model


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_resnet32_parameter_count():
    assert n_params(build_model("resnet32", 10, 3)) == 464_154


def test_family_depths_shrink():
    assert (
        n_params(build_model("resnet8", 10, 3)) < n_params(build_model("resnet20", 10, 3)) < 464_154
    )


@pytest.mark.parametrize("channels", [1, 3])
def test_forward_returns_logits_and_features(channels):
    model = build_model("resnet8", 7, channels).eval()
    logits, feats = model(torch.randn(5, channels, 28, 28))
    assert logits.shape == (5, 7) and feats.shape == (5, 64)


@pytest.mark.parametrize("layer", [0, 1, 2, 3])
def test_mixer_is_applied_at_the_chosen_layer(layer):
    model = build_model("resnet8", 10, 3).eval()
    seen = []

    def mixer(h):
        seen.append(tuple(h.shape))
        return h

    model(torch.randn(2, 3, 32, 32), mixer, layer)
    widths = {0: 3, 1: 16, 2: 32, 3: 64}
    assert len(seen) == 1 and seen[0][1] == widths[layer]


def test_normed_classifier_bounds_logits():
    model = build_model("resnet8", 10, 3, normed=True).eval()
    logits, _ = model(torch.randn(4, 3, 32, 32) * 100)
    assert logits.abs().max() <= 1 + 1e-5


def test_unknown_model():
    with pytest.raises(UserError, match="unknown model 'vgg'"):
        build_model("vgg", 10)
