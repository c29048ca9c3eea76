"""Who is who in the group, as plain values: the roles people are appointed to, the Sectors and the advisory
groups that send the management team.

Values only, so the domain (`organisation`, `meetings`), the web pages and the command line use them without
the permission checks built on them (`iscg_bot.chat.policy`, part of the chat layer).
"""

from __future__ import annotations

from enum import StrEnum

from iscg_bot.core.i18n import lazy
from iscg_bot.core.language import PSEUDO, accented, current


class Sector(StrEnum):
    ITU_R = "ITU-R"
    ITU_T = "ITU-T"
    ITU_D = "ITU-D"
    GS = "GS"  # the General Secretariat


class AdvisoryGroup(StrEnum):
    """Each Sector's advisory group sends two representatives to the management team."""

    TSAG = "TSAG"  # ITU-T
    RAG = "RAG"  # ITU-R
    TDAG = "TDAG"  # ITU-D


MANAGEMENT_SEATS_PER_GROUP = 2


class RoleKind(StrEnum):
    CHAIR = "chair"
    MANAGEMENT = "management"
    COORDINATOR = "coordinator"
    FOCAL_POINT = "focal_point"
    SECRETARIAT = "secretariat"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


# In English, as the records and the logs keep them; shown translated with `_(kind.label)`.
ROLE_LABELS = {
    RoleKind.CHAIR: lazy("Chair"),
    RoleKind.MANAGEMENT: lazy("management team"),
    RoleKind.COORDINATOR: lazy("coordinator"),
    RoleKind.FOCAL_POINT: lazy("focal point"),
    RoleKind.SECRETARIAT: lazy("secretariat"),
}


# How each language writes the Sectors and advisory groups (iscg_bot/locale/GLOSSARY.md, "Abbreviations"):
# ITU's own forms, fixed terms rather than translations, so they live here and not in the catalogs. English
# (and a language missing here) shows the code itself; what users type stays the English code.
_SHOWN_BODIES: dict[str, dict[str, str]] = {
    "ar": {"GS": "الأمانة العامة"},
    "zh": {"GS": "总秘书处"},
    "fr": {
        "ITU-R": "UIT-R",
        "ITU-T": "UIT-T",
        "ITU-D": "UIT-D",
        "GS": "SG",
        "RAG": "GCR",
        "TSAG": "GCNT",
        "TDAG": "GCDT",
    },
    "ru": {
        "ITU-R": "МСЭ-R",  # the Latin R, as ITU writes it
        "ITU-T": "МСЭ-Т",  # the Cyrillic Т
        "ITU-D": "МСЭ-D",  # the Latin D
        "GS": "ГС",
        "RAG": "КГР",
        "TSAG": "КГСЭ",
        "TDAG": "КГРЭ",
    },
    "es": {
        "ITU-R": "UIT-R",
        "ITU-T": "UIT-T",
        "ITU-D": "UIT-D",
        "GS": "SG",
        "RAG": "GAR",
        "TSAG": "GANT",
        "TDAG": "GADT",
    },
}


def shown_body(code: str) -> str:
    """A Sector ("ITU-T", "GS") or advisory group ("TSAG") as the current language names it to readers:
    "UIT-T" and "GCNT" in French, "МСЭ-Т" and "КГСЭ" in Russian, the code itself in English. Accented in
    the pseudo-language, so a test tells a shown name from a typed one."""
    language = current()
    if language == PSEUDO:
        return accented(code)
    return _SHOWN_BODIES.get(language, {}).get(code, code)
