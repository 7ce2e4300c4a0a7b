"""Benchmarks for Teller's ingest path. Not tests: nothing here asserts on time. See BENCHMARKS.md."""
