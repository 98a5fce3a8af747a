"""Operators' work beside the running service: export and replay of the stream, offline
rounds, dead letters, round reports (terminal and HTML), the summary and the demo."""
