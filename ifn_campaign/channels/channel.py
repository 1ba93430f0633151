"""The channels ifn-campaign posts to, as one enum every layer imports (it imports nothing).

A `StrEnum`: a member equals its name as text (`Channel.INSTAGRAM == "instagram"`), so TOML keys,
registry consent lists and database rows that hold the plain name still match, while code names
a channel only through the enum (tests/channels/test_channel_names.py keeps it that way).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["GRAPH_CHANNELS", "Channel"]


class Channel(StrEnum):
    """Where a post goes: Instagram and Facebook through Meta's Graph API, YouTube as a Short."""

    INSTAGRAM = "instagram"
    FACEBOOK = "facebook"
    YOUTUBE = "youtube"

    @property
    def label(self) -> str:
        """The network's own spelling, for people to read ("YouTube")."""
        return _LABELS[self]


_LABELS = {Channel.INSTAGRAM: "Instagram", Channel.FACEBOOK: "Facebook", Channel.YOUTUBE: "YouTube"}

GRAPH_CHANNELS = frozenset({Channel.INSTAGRAM, Channel.FACEBOOK})
"""The channels of Meta's Graph API: one token per account, one shared app-level budget."""
