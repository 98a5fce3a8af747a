"""Shared model configuration for contract payloads.

Imports pydantic only.
"""

from pydantic import BaseModel, ConfigDict


class Payload(BaseModel):
    """A frozen, strict contract payload; unknown fields are ignored (additive evolution)."""

    model_config = ConfigDict(frozen=True, strict=True, extra="ignore", str_strip_whitespace=False)
