"""Errors the observability room raises.

    ProbesUnavailableError (OSError)   the probes cannot listen at INTERN_MATCH_HTTP_HOST/PORT

Imports the standard library only.
"""


class ProbesUnavailableError(OSError):
    """The probes cannot listen where INTERN_MATCH_HTTP_HOST/PORT say (e.g. the port is taken)."""
