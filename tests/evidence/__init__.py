"""The science: the per-run evidence, the verdicts, the controls, the post-hoc rules, the README's numbers."""
