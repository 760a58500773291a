"""The synthetic connector: seeded, realistic traffic for demos, tests and benchmarks."""
