"""Checks of one parsing answer, shared by the parsing tests: Accepted or a ContractError naming
a field and a reason, with texts PostgreSQL can store, and picklable across the worker pipe."""

import json
import pickle

from contracts import ContractError
from services.intake.parsing import Accepted, Parsed


def storable(text: str) -> bool:
    """Text PostgreSQL can hold: UTF-8 encodable (no unpaired surrogate) and without NUL."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def check_answer(parsed: Parsed) -> None:
    if isinstance(parsed, Accepted):
        assert storable(parsed.source) and storable(parsed.event_id)
        if parsed.payload is not None:
            assert storable(parsed.payload)
            json.loads(parsed.payload)
        return
    assert isinstance(parsed, ContractError)
    assert parsed.errors, "a rejection names at least one field"
    for error in parsed.errors:
        assert error.loc and error.msg
        assert storable(error.loc) and storable(error.msg)
        assert " object at 0x" not in error.msg  # no repr of a parser's internals
    assert parsed.original_id is None or storable(parsed.original_id)
    copy = pickle.loads(pickle.dumps(parsed))
    assert (copy.errors, copy.original_id, copy.subject) == (
        parsed.errors,
        parsed.original_id,
        parsed.subject,
    )
