"""JSON Schema (draft 2020-12) of the envelope of every event type of contract v1, and its files.

Imports pydantic and the standard library only; the AsyncAPI document lives in services.
"""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from contracts.envelope import DEAD_LETTER_ENVELOPE, envelope_model
from contracts.subjects import DEAD_LETTER_SCHEMA, DLQ_PREFIX, DLQ_TYPE_VERSION, Kind, type_of

DEAD_LETTER_TYPE = DEAD_LETTER_SCHEMA
"""Key of the dead-letter envelope's schema; dead letters travel on `jip.dlq.<original kind>`
with type `jip.dlq.<original kind>.v2`."""

_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def json_schemas() -> dict[str, dict[str, Any]]:
    """The envelope schema of every event type, keyed by CloudEvents type, plus the dead letter."""
    schemas = {type_of(kind): _envelope_schema(kind) for kind in Kind}
    schemas[DEAD_LETTER_TYPE] = _dead_letter_schema()
    return dict(sorted(schemas.items()))


def _dead_letter_schema() -> dict[str, Any]:
    schema = DEAD_LETTER_ENVELOPE.model_json_schema()
    pattern = "^" + re.escape(DLQ_PREFIX) + "[a-z.]+" + re.escape(DLQ_TYPE_VERSION) + "$"
    schema["properties"]["type"] = {
        "pattern": pattern,
        "type": "string",
        "description": "jip.dlq.<original kind>.v2, e.g. jip.dlq.applicant.registered.v2",
    }
    return _titled(
        schema,
        DEAD_LETTER_TYPE,
        "A rejected inbound event, published on jip.dlq.<original kind>; it carries no part of "
        "the rejected body",
    )


def _envelope_schema(kind: Kind) -> dict[str, Any]:
    model = envelope_model(kind)
    schema = model.model_json_schema()
    # The envelope model accepts any type string and routing checks it; the wire allows one.
    schema["properties"]["type"] = {
        "const": type_of(kind),
        "description": f"Always {type_of(kind)}",
    }
    return _titled(schema, type_of(kind), f"CloudEvents 1.0 envelope of {type_of(kind)}")


def _titled(schema: dict[str, Any], event_type: str, description: str) -> dict[str, Any]:
    return {"$schema": _DRAFT, "$id": f"{event_type}.json", **schema, "title": event_type,
            "description": description}  # fmt: skip


def to_schema_text(schema: dict[str, Any]) -> str:
    """The committed file form of a schema: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schemas(directory: Path) -> Iterator[Path]:
    """Write `<type>.json` for every schema into `directory` and yield each path written."""
    directory.mkdir(parents=True, exist_ok=True)
    for event_type, schema in json_schemas().items():
        path = directory / f"{event_type}.json"
        path.write_text(to_schema_text(schema), encoding="utf-8")
        yield path
