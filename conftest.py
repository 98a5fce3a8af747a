"""Puts the project root on sys.path for the test suite, so tests import `tests.*` helpers and
always our own `matching` package (the PyPI library of that name is loaded only by
tests/hr_oracle.py, by path)."""
