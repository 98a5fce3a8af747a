"""Fault injection: the service as a child process against real servers that fail."""
