"""What an export records beside its events: where they came from and the rules in force.

Written as `<export file>.meta.json` next to the JSON Lines file, so the events file stays pure
JSON Lines (publishable, replayable, readable offline). Imports pydantic and the stdlib only.
"""

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

META_SUFFIX = ".meta.json"


class ExportMeta(BaseModel):
    """The sidecar of an export file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: int = Field(default=1, description="Version of this sidecar's layout")
    source_fingerprint: dict[str, str] | None = Field(
        default=None,
        description="Identity of the source broker: stream JIP's creation time and the server's "
        "or cluster's id; replay refuses a target with the same fingerprint",
    )
    source_rules: dict[str, Any] | None = Field(
        default=None,
        description="The source allow-list (INTERN_MATCH_SOURCES) in force when exported; "
        "replay and offline runs judge the events by these rules",
    )


def meta_path(events_file: Path) -> Path:
    """Where the sidecar of `events_file` lives."""
    return events_file.with_name(events_file.name + META_SUFFIX)


def write_meta(events_file: Path, meta: ExportMeta) -> Path:
    path = meta_path(events_file)
    path.write_text(meta.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def read_meta(events_file: Path) -> ExportMeta | None:
    """The sidecar of `events_file`, or None when there is none.

    Raises ValueError naming the file when the sidecar exists but is not a valid one.
    """
    path = meta_path(events_file)
    if not path.is_file():
        return None
    try:
        return ExportMeta.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise ValueError(f"{path}: not a valid export sidecar ({type(error).__name__})") from None
