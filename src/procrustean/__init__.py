"""procrustean: reproducibility package for Procrustean Training (Ye, Zhan, Chao; ICCV 2021)."""

from procrustean.cpu_mode import apply as _apply_cpu_mode

__version__ = "0.1.0"

# Before anything imports torch: pin its CPU kernel paths (procrustean.cpu_mode).
_apply_cpu_mode()
