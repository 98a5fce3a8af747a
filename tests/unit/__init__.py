"""Unit tests: no I/O beyond pytest's tmp_path and files of the repository."""
