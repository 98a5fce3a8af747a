"""Errors of the rounds' room.

    CalendarError (ValueError)   a calendar file of automatic rounds is malformed: its file,
                                 key and reason (the service does not start)

Imports the standard library only.
"""


class CalendarError(ValueError):
    """A malformed calendar file; `file`, `key` (None for the whole file) and `reason`."""

    def __init__(self, file: str, key: str | None, reason: str) -> None:
        self.file, self.key, self.reason = file, key, reason
        where = f"calendar {file}" + (f": {key}" if key else "")
        super().__init__(f"{where}: {reason}")
