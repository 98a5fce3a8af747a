"""The setting INTERN_MATCH_SOURCES: its canonical form and its validation (services.settings
checks it at start, exports record it). Pure; imports contracts only. The rules it configures
are applied by services.intake.sources.
"""

import json
from collections.abc import Mapping

from contracts import INBOUND_KINDS

OPERATORS = "operators"
"""The key naming the operator sources: they may send every inbound kind and change any
applicant or vacancy."""
COMMITTEE = "committee"
"""The key naming the screening committee's sources: they may send `placement.responded` and
answer for the committee (lifecycle.md)."""
ROLES = (OPERATORS, COMMITTEE)
"""Keys that name a role rather than a kind pattern."""
MAX_SOURCE = 256
SHOWN = 60
"""Characters of a key or a source an error text shows."""
KINDS = tuple(kind.value for kind in INBOUND_KINDS)

SourceConfig = dict[str, list[str]]
"""The rules as configured and as an export records them: {pattern or 'operators': sources},
keys and sources sorted, sources unique."""


def matches(pattern: str, kind: str) -> bool:
    """`applicant.*` matches every `applicant.<x>` kind; any other pattern only itself."""
    if pattern.endswith(".*"):
        return kind.startswith(pattern[:-1])
    return pattern == kind


def to_config(value: object) -> SourceConfig | None:
    """The canonical rules of a setting's value (JSON text or a mapping); None stays None.

    Raises ValueError naming the key and the reason, so a service with bad rules never starts.
    """
    if value is None:
        return None
    if isinstance(value, str | bytes):
        value = _json_object(value)
    if not isinstance(value, Mapping):
        raise ValueError(f"must be a JSON object of lists of sources, not {type(value).__name__}")
    return {key: _sources_of(key, value[key]) for key in sorted(_keys(value))}


def _json_object(text: str | bytes) -> object:
    if not text.strip():
        raise ValueError("is empty: unset it to accept any source, or give a JSON object")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"is not JSON ({type(error).__name__}: {error})"[:200]) from None


def _keys(value: Mapping[object, object]) -> list[str]:
    for key in value:
        if not isinstance(key, str):
            raise ValueError(f"key {key!r}: keys are kind patterns or {OPERATORS!r}")
        if key not in ROLES and not any(matches(key, kind) for kind in KINDS):
            raise ValueError(
                f"key {key[:SHOWN]!r}: matches no inbound kind (use a kind such as "
                f"round.requested, a pattern such as applicant.*, {OPERATORS!r} or "
                f"{COMMITTEE!r})"
            )
    return [str(key) for key in value]


def _sources_of(key: str, sources: object) -> list[str]:
    if not isinstance(sources, list):
        raise ValueError(f"key {key!r}: must be a list of sources, not {type(sources).__name__}")
    for source in sources:
        if not isinstance(source, str) or not 0 < len(source) <= MAX_SOURCE:
            raise ValueError(f"key {key!r}: each source is a string of 1 to {MAX_SOURCE} chars")
        if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in source):
            raise ValueError(f"key {key!r}: a source holds whitespace or a control character")
    return sorted(set(sources))
