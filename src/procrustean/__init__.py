"""procrustean: reproducibility package for Procrustean Training (Ye, Zhan, Chao; ICCV 2021)."""

__version__ = "0.1.0"
