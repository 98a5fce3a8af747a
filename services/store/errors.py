"""Errors of the store.

RuntimeError
 └── LeaseLostError   the transaction's instance no longer holds the active lease (fenced)
"""


class LeaseLostError(RuntimeError):
    """The lease's token is no longer this instance's: another instance took over, so this
    transaction must not commit (it is rolled back by the caller's `engine.begin()`)."""
