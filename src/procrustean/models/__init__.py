"""Models: the CIFAR ResNet family of LDAM-DRW (``resnet``; its names and layers in ``family``,
which imports no torch)."""
