"""Puts tests/ on sys.path so test modules can import helpers."""
