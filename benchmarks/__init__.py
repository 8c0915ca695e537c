"""Benchmarks: throughput, method overheads, pipeline overhead at paper scale, memory."""
