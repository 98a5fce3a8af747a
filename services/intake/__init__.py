"""The path of an inbound event: the pull consumer and its crash recovery (`consumer`), parsing
and its worker process, source rules, and applying a batch in one transaction (`apply`,
`segment`), with a failing batch settled in place (`settle`, `isolation`)."""
