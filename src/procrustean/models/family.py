"""The CIFAR ResNet family's names and depths, and the layers its forward pass can mix at:
plain constants that the params code checks without importing torch."""

DEPTHS = {"resnet8": 1, "resnet20": 3, "resnet32": 5, "resnet44": 7, "resnet56": 9, "resnet110": 18}
NUM_LAYERS = 4  # mixing layers: 0 = input, 1..3 = output of residual stage k
