"""The code's parts on small inputs: params, imbalance, splits, sources, losses, MFW, models, training, placement, the portable CPU mode, the environment."""
