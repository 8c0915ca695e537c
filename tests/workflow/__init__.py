"""The engines and the records: freshness from every arrival, allow-missing, the clone boundary, both engines, DVC's lock, key files, the code lineage, reliability, SLURM, re-derivation compared."""
