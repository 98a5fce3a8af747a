"""The placements digest of contract.md: equal placements give an equal digest on any machine.

Imports the standard library only.
"""

import hashlib
from collections.abc import Iterable

from matching.snapshot import Placement


def placements_digest(placements: Iterable[Placement]) -> str:
    """`sha256:` + hex SHA-256 of `applicant_id\\tvacancy_id\\tcourse\\n` lines in applicant id
    byte order."""
    lines = sorted(f"{p.applicant_id}\t{p.vacancy_id}\t{p.course}\n".encode() for p in placements)
    return "sha256:" + hashlib.sha256(b"".join(lines)).hexdigest()
