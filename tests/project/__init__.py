"""The house: the wing rule, the documentation's links, the benchmark harness."""
