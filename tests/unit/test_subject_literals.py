"""Subjects and types in services come from the contract (`contracts.subject_of`, `type_of`,
`DLQ_PREFIX`, `ALL_SUBJECTS`, ...), never spelled out: a literal `"jip.…"` outside
documentation (docstrings, AsyncAPI titles and descriptions) would drift from the contract."""

import ast
import re
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "services"
SPELLED = re.compile(r"^\^?jip(\\)?\.")
"""A text that starts like a subject or type (or a regular expression of one)."""
DOCUMENTATION = {"title", "description"}


def spelled_subjects(tree: ast.AST) -> list[tuple[int, str]]:
    documentation = {
        id(keyword.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg in DOCUMENTATION
    }
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or id(node) in documentation | docstrings:
            continue
        value = node.value
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        if isinstance(text, str) and SPELLED.match(text):
            found.append((node.lineno, text))
    return found


def test_no_subject_is_spelled_as_a_literal_in_services() -> None:
    found = {
        f"{path.relative_to(SERVICES.parent)}:{line}": text
        for path in sorted(SERVICES.rglob("*.py"))
        if "migrations" not in path.parts
        for line, text in spelled_subjects(ast.parse(path.read_text(), str(path)))
    }
    assert found == {}
