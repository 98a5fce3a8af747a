"""Loads the PyPI `matching` library (HospitalResident, the test and benchmark oracle) by path.

Its import name clashes with our own `matching` package, so it is never installed into the
project's environment: it is installed once, pinned, into `.cache/oracle` and imported with our
package moved aside for the moment of the import. Use `load_hospital_resident()` — never
`import matching.games` directly.
"""

import importlib
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

ORACLE = "matching==1.4.3"
_REPO = Path(__file__).resolve().parents[2]


def _oracle_dir() -> Path:
    target = Path(os.environ.get("INTERN_MATCH_ORACLE_DIR", _REPO / ".cache" / "oracle"))
    if not (target / "matching" / "games" / "hospital_resident.py").is_file():
        uv = os.environ.get("UV") or shutil.which("uv")
        if uv is None:
            raise RuntimeError("uv is needed to install the oracle library " + ORACLE)
        cmd = [uv, "pip", "install", "--quiet", "--no-deps", "--target", str(target), ORACLE]
        subprocess.run(cmd, check=True)
    return target


def _ours() -> dict[str, object]:
    return {k: v for k, v in sys.modules.items() if k == "matching" or k.startswith("matching.")}


def load_hospital_resident() -> type:
    """The `matching.games.HospitalResident` class of the PyPI library, pinned to 1.4.3."""
    target = str(_oracle_dir())
    saved = _ours()
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, target)
    try:
        with warnings.catch_warnings():  # the library resets the warning filters on import
            games = importlib.import_module("matching.games")
            return games.HospitalResident  # type: ignore[no-any-return]
    finally:
        sys.path.remove(target)
        for name in _ours():
            del sys.modules[name]
        sys.modules.update(saved)
