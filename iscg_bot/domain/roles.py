"""Who is who in the group, as plain values: the roles people are appointed to, the Sectors and the advisory
groups that send the management team.

Values only, so the domain (`organisation`, `meetings`), the web pages and the command line use them without
the permission checks built on them (`iscg_bot.chat.policy`, part of the chat layer).
"""

from __future__ import annotations

from enum import StrEnum

from iscg_bot.core.i18n import lazy


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
