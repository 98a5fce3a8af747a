"""Checks by tools, not tests of our code: hadolint over the Dockerfile, import-linter."""
