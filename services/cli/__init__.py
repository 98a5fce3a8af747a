"""The `intern-match` command: typer entry points only (`main`, `ops`, `deadletters`), with one
shared console and error helper (`console`, `errors`)."""
