"""The AsyncAPI document FastStream generates matches the committed one and names every subject."""

import json
from pathlib import Path

from contracts import INBOUND_KINDS, OUTBOUND_KINDS, subject_of
from services.nats.asyncapi import asyncapi_document

COMMITTED = Path(__file__).resolve().parents[2] / "schemas" / "asyncapi.json"


def test_asyncapi_document_matches_the_committed_file() -> None:
    generated = json.loads(json.dumps(asyncapi_document(), sort_keys=True))
    committed = json.loads(COMMITTED.read_text())
    assert generated == committed, "the contract drifted: run `intern-match schema` and commit"


def test_asyncapi_document_has_a_channel_for_every_subject() -> None:
    addresses = {c["address"] for c in asyncapi_document()["channels"].values()}
    for kind in (*INBOUND_KINDS, *OUTBOUND_KINDS):
        assert subject_of(kind) in addresses
    assert "jip.dlq.>" in addresses
