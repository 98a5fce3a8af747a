"""The shell of intern-match: settings, persistence, broker, rounds, relay and the CLI."""
