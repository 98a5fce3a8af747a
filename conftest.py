"""Puts the project root first on sys.path: our `matching` package must shadow the PyPI `matching`
library (dev dependency, a test oracle) that pytest would otherwise import from site-packages."""
