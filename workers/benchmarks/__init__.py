"""Speed benchmarks, run as modules (`python -m workers.benchmarks.<name>`); never part of the test suite."""
