"""Tools apart from the product: benchmarks, the soak harness, synthetic test data."""
