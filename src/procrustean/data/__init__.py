"""Dataset sources, imbalance profiles, splits and batched augmentation."""
