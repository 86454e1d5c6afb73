"""Test support that never ships with the product: the sandbox of real components."""
