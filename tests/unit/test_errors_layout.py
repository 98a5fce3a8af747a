"""Each package's exception classes live in its `errors.py`, whose docstring draws them.

Read from the source (no imports): a class is an exception when one of its bases is a built-in
exception or, transitively, an exception class of the project.
"""

import ast
import builtins
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("contracts", "matching", "services")
BUILTIN_EXCEPTIONS = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}


def _classes() -> dict[str, tuple[Path, list[str]]]:
    """Every class of the packages by name: (its file, the last names of its bases)."""
    found: dict[str, tuple[Path, list[str]]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ClassDef):
                    bases = [ast.unparse(base).rsplit(".", 1)[-1] for base in node.bases]
                    found[f"{path}:{node.name}"] = (path, bases)
    return found


def _exceptions() -> dict[str, tuple[Path, list[str]]]:
    classes = _classes()
    names = set(BUILTIN_EXCEPTIONS)
    exceptions: dict[str, tuple[Path, list[str]]] = {}
    while True:
        more = {
            key: value
            for key, value in classes.items()
            if key not in exceptions and names.intersection(value[1])
        }
        if not more:
            return exceptions
        exceptions.update(more)
        names.update(key.rsplit(":", 1)[1] for key in more)


def test_public_exception_classes_are_defined_in_errors_modules_only() -> None:
    outside = [
        key.removeprefix(f"{ROOT}/")
        for key, (path, _) in _exceptions().items()
        if path.name != "errors.py" and not key.rsplit(":", 1)[1].startswith("_")
    ]
    assert outside == []


def test_each_errors_module_draws_its_classes_and_their_bases() -> None:
    for key, (path, bases) in _exceptions().items():
        if path.name != "errors.py":
            continue
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        name = key.rsplit(":", 1)[1]
        assert name in doc, f"{path}: the docstring's tree does not name {name}"
        assert all(base in doc for base in bases), f"{path}: the tree omits a base of {name}"
