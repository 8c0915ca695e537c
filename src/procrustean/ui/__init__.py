"""What users and logs see: the command line, progress lines, TensorBoard scalars and the
refusal of bad params. It never shapes an output, so a change here re-runs nothing."""
