"""Glue between procrustean and the engines that run its stages (Snakemake, DVC): never imported
by a stage, so a change here re-runs nothing."""
