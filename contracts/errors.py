"""Errors the contract raises.

    ContractError (ValueError)    a body that is not a valid event of contract v1

`ContractError.errors` holds a `FieldError` (location, reason) per field; the services raise
subclasses of it (`services.intake.errors.SourceRefusedError`) for events they refuse on a
field, so an `except ContractError` takes those too. `safe_text` bounds every text an error
carries, so whatever a body held, the error is safe to store and publish.

Imports the standard library only.
"""

import re
from dataclasses import dataclass
from typing import Any

MAX_LOC_CHARS = 200
MAX_MSG_CHARS = 1_000

UNSAFE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
"""NUL and unpaired surrogates: text PostgreSQL cannot store."""


@dataclass(frozen=True)
class FieldError:
    loc: str
    msg: str


class ContractError(ValueError):
    """A body that is not a valid event of contract v1; `errors` names each field and reason.

    Every text in it is safe to store and publish: NUL and unpaired surrogates are written as
    escapes and each text is cut to a bound, whatever the body held.
    """

    def __init__(
        self,
        errors: list[FieldError],
        original_id: str | None,
        subject: str,
        original_source: str | None = None,
    ) -> None:
        self.errors = [
            FieldError(safe_text(e.loc, MAX_LOC_CHARS) or "body", safe_text(e.msg, MAX_MSG_CHARS))
            for e in errors
        ] or [FieldError("body", "rejected")]
        self.original_id = original_id
        self.subject = subject
        self.original_source = original_source
        super().__init__("; ".join(f"{e.loc}: {e.msg}" for e in self.errors))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled whole, so an error found in a worker process reaches the intake intact."""
        return (type(self), (self.errors, self.original_id, self.subject, self.original_source))


def safe_text(text: str, limit: int) -> str:
    """`text` without NUL or unpaired surrogates (written as `\\uXXXX`), at most `limit` chars."""
    if not text.isascii() or "\x00" in text:
        text = UNSAFE_CHARACTERS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
