"""What a user types: bad input through every route, Snakemake's overrides, fuzzing, file faults, status."""
