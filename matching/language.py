"""Language certificates normalised to one strength per language: JLPT (ja), CEFR (en).

Imports matching.rows and matching.ruleset only; never services or ortools.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from matching.rows import CertificateView, RequirementsView
from matching.ruleset import CEFR_LEVELS, JLPT_LEVELS, Ruleset

NATIVE_JAPANESE = len(JLPT_LEVELS) + 1
"""Strength of a native Japanese speaker: above N1."""
NATIVE_ENGLISH = len(CEFR_LEVELS) + 1
"""Strength of a native English speaker: above C2."""


@dataclass(frozen=True, slots=True)
class LanguageProfile:
    """Best strength per language (0 = none); JLPT N5..N1 = 1..5, CEFR A1..C2 = 1..6."""

    japanese: int
    english: int
    japanese_label: str
    english_label: str


def jlpt_strength(level: str) -> int:
    return JLPT_LEVELS.index(level) + 1


def cefr_strength(level: str) -> int:
    return CEFR_LEVELS.index(level) + 1


def to_profile(certificates: Sequence[CertificateView], ruleset: Ruleset) -> LanguageProfile:
    """The best certificate per language; other languages and tests are ignored."""
    ja, ja_label, en, en_label = 0, "none", 0, "none"
    for cert in certificates:
        if cert.language == "ja":
            strength, label = _japanese(cert, ruleset)
            if strength > ja:
                ja, ja_label = strength, label
        elif cert.language == "en":
            strength, label = _english(cert, ruleset)
            if strength > en:
                en, en_label = strength, label
    return LanguageProfile(ja, en, ja_label, en_label)


def _japanese(cert: CertificateView, ruleset: Ruleset) -> tuple[int, str]:
    if cert.test == "JLPT" and cert.score:
        return jlpt_strength(cert.score), f"JLPT {cert.score}"
    if cert.test == "NATIVE" and ruleset.native_counts:
        return NATIVE_JAPANESE, "native"
    return 0, "none"


def _english(cert: CertificateView, ruleset: Ruleset) -> tuple[int, str]:
    if cert.test == "CEFR" and cert.score:
        return cefr_strength(cert.score), f"CEFR {cert.score}"
    if cert.test == "NATIVE":
        return (NATIVE_ENGLISH, "native") if ruleset.native_counts else (0, "none")
    table = ruleset.english_scores.get(cert.test)
    if table is None or not cert.score:
        return 0, "none"
    score = float(cert.score)
    for level, minimum in table:
        if score >= minimum:
            return cefr_strength(level), f"{cert.test} {cert.score} = CEFR {level}"
    lowest = table[-1][0]
    return cefr_strength(lowest) - 1, f"{cert.test} {cert.score} = below CEFR {lowest}"


def is_program_language_met(profile: LanguageProfile, ruleset: Ruleset) -> bool:
    """Japanese or English at the program minimum (or native, where the ruleset counts it)."""
    return profile.japanese >= jlpt_strength(ruleset.japanese_min) or profile.english >= (
        cefr_strength(ruleset.english_min)
    )


def meets_requirements(profile: LanguageProfile, req: RequirementsView) -> bool:
    """A vacancy's minimums under its `language_rule` (any: one suffices; all: every one)."""
    checks = _checks(profile, req)
    if not checks:
        return True
    met = [have >= need for have, need in checks]
    return all(met) if req.language_rule == "all" else any(met)


def language_margin(profile: LanguageProfile, req: RequirementsView) -> int:
    """Levels above the vacancy's minimums, summed over the minimums met (0 with none stated)."""
    return sum(have - need for have, need in _checks(profile, req) if have >= need)


def _checks(profile: LanguageProfile, req: RequirementsView) -> list[tuple[int, int]]:
    checks = []
    if req.japanese_min is not None:
        checks.append((profile.japanese, jlpt_strength(req.japanese_min)))
    if req.english_min is not None:
        checks.append((profile.english, cefr_strength(req.english_min)))
    return checks
