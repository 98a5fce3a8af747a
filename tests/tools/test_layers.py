"""The layering holds: services -> matching -> contracts, and OR-Tools only in matching.solver."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_ortools_is_imported_only_inside_the_solver_subpackage() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("contracts", "matching", "services")
        for path in (ROOT / package).rglob("*.py")
        if "ortools" in _imported_roots(path) and (ROOT / "matching" / "solver") not in path.parents
    ]
    assert offenders == []


def test_contracts_import_neither_matching_nor_services() -> None:
    for path in (ROOT / "contracts").rglob("*.py"):
        assert not _imported_roots(path) & {"matching", "services"}, path


def test_matching_never_imports_services() -> None:
    for path in (ROOT / "matching").rglob("*.py"):
        assert "services" not in _imported_roots(path), path


def test_import_linter_contracts_are_kept() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe is not None, "import-linter is a dev dependency"
    result = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
