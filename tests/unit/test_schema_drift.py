"""The committed JSON Schemas in schemas/ equal what the contract models generate, and they hold.

Imports contracts and jsonschema; reads the committed files only.
"""

import json
from pathlib import Path

import jsonschema
import pytest

from contracts import Kind, type_of
from contracts.schema import DEAD_LETTER_TYPE, json_schemas, to_schema_text, write_schemas

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
FIX = "the contract models drifted from schemas/: run `intern-match schema` and commit the result"


@pytest.mark.parametrize("event_type", sorted(json_schemas()))
def test_committed_schema_matches_the_contract_models(event_type: str) -> None:
    path = SCHEMAS / f"{event_type}.json"
    assert path.exists(), f"{path.name} is missing; {FIX}"
    assert path.read_text(encoding="utf-8") == to_schema_text(json_schemas()[event_type]), FIX


def test_no_committed_schema_is_left_over_from_a_removed_type() -> None:
    committed = {p.name.removesuffix(".json") for p in SCHEMAS.glob("jip.*.json")}
    assert committed == set(json_schemas()), FIX


def test_there_is_one_schema_per_event_type_and_one_for_dead_letters() -> None:
    assert set(json_schemas()) == {type_of(kind) for kind in Kind} | {DEAD_LETTER_TYPE}


def test_every_schema_is_a_valid_draft_2020_12_schema() -> None:
    for schema in json_schemas().values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_pins_the_type_so_a_body_of_another_type_fails() -> None:
    schema = json_schemas()["jip.round.failed.v1"]
    event = {
        "specversion": "1.0",
        "id": "r-1",
        "source": "/intern-match",
        "type": "jip.round.failed.v1",
        "time": "2023-06-01T00:00:00Z",
        "datacontenttype": "application/json",
        "data": {"round_id": "2023-summer-1", "reason": "unknown program year 2031"},
    }
    jsonschema.validate(event, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**event, "type": "jip.round.completed.v1"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**event, "data": {"round_id": "x"}}, schema)


def test_committed_files_are_sorted_two_space_json_with_a_trailing_newline() -> None:
    for path in SCHEMAS.glob("jip.*.json"):
        text = path.read_text(encoding="utf-8")
        assert (
            text
            == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        )


def test_write_schemas_writes_one_file_per_type_and_names_each(tmp_path: Path) -> None:
    written = list(write_schemas(tmp_path / "out"))
    assert sorted(p.name for p in written) == sorted(f"{t}.json" for t in json_schemas())
    for path in written:
        assert json.loads(path.read_text(encoding="utf-8"))["title"] == path.name[: -len(".json")]
