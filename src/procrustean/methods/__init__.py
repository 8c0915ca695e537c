"""Methods as compositions: a loss, a class-weighting schedule, a sampler and a mixing component."""

from procrustean.methods.compose import Method, build_method

__all__ = ["Method", "build_method"]
