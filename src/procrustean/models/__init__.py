"""Models: the CIFAR ResNet family of LDAM-DRW."""

from procrustean.models.resnet import DEPTHS, ResNetS, build_model

__all__ = ["DEPTHS", "ResNetS", "build_model"]
