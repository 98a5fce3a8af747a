"""A round: its snapshot loaded from the tables, the runner that solves it and writes its
result and outbound events in the caller's transaction, and the rulesets per program year."""
