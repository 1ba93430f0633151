"""The figures the platform sandboxes serve for a published post: deterministic per post and
growing over the sandbox clock, so the demo and the tests see realistic, repeatable numbers and
slot advice has a real signal to find.

For a post that went live at T, read at `now` (age a = now - T):

    reach(a) = R * (1 - exp(-a / TAU))          TAU = 1.5 days
    R = BASE[channel] * slot_factor(T in WIB) * post_factor(channel, remote id)   (0.4 .. 1.6)

Every other figure is a fraction of reach fixed per post (seeded by the same hash, inside the
ranges of `FRACTIONS`), so it grows with reach and never goes down. Values are whole numbers
(floored). The slot factor is the table `SLOT_FACTORS`: weekday evenings 19-21 WIB best, working
hours middling, late night and Sunday night worst.

```python
figures("instagram", "17800000000000001", went_live, now)
# {"reach": 412, "views": 650, "likes": 21, "comments": 2, "saved": 4, "shares": 3,
#  "total_interactions": 30}
```
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "BASE",
    "CHANNELS",
    "FRACTIONS",
    "LAG",
    "SLOT_FACTORS",
    "TAU",
    "WIB",
    "figures",
    "post_factor",
    "reach_ceiling",
    "slot_factor",
]

WIB = ZoneInfo("Asia/Jakarta")
TAU = timedelta(days=1.5)
"""How fast a post gathers its audience: 63% of its final reach after TAU."""
LAG = timedelta(minutes=10)
"""Instagram shows no insights before this age ("Not enough viewers")."""

BASE: dict[str, int] = {"instagram": 1500, "facebook": 900, "youtube": 600}
"""Final reach of an average post in an average slot, per channel."""

# (weekdays 0=Monday..6=Sunday, hours in WIB, factor): the first row that matches wins.
_MON_FRI = frozenset(range(5))
_ALL = frozenset(range(7))
SLOT_FACTORS: tuple[tuple[frozenset[int], range, float], ...] = (
    (frozenset({6}), range(19, 24), 0.3),  # Sunday night: the week is over
    (_MON_FRI, range(19, 22), 1.45),  # weekday evening: everyone is home, on the phone
    (_ALL, range(0, 5), 0.4),  # late night
    (_ALL, range(23, 24), 0.5),
    (_ALL, range(5, 9), 0.7),  # early morning and the commute
    (_MON_FRI, range(9, 17), 0.9),  # working hours
    (_ALL, range(9, 17), 1.0),  # weekend daytime
    (_ALL, range(17, 19), 1.1),  # after work
    (_ALL, range(19, 23), 1.2),  # Saturday evening and weekday late evening
)

FRACTIONS: dict[str, dict[str, tuple[float, float]]] = {
    "instagram": {
        "views": (1.2, 2.2),
        "likes": (0.03, 0.10),
        "comments": (0.002, 0.012),
        "saved": (0.004, 0.02),
        "shares": (0.002, 0.015),
    },
    "facebook": {
        "post_total_media_view": (1.1, 1.9),
        "post_clicks": (0.01, 0.05),
        "reactions": (0.02, 0.08),
        "comments": (0.002, 0.01),
        "shares": (0.0, 0.008),
    },
    "youtube": {
        "likes": (0.02, 0.07),
        "comments": (0.001, 0.01),
    },
}
"""Each figure as a fraction of reach: the low and high ends; each post draws its own."""

_REACH_NAME = {"instagram": "reach", "facebook": "post_total_media_view_unique", "youtube": "views"}
CHANNELS = tuple(BASE)


def slot_factor(weekday: int, hour: int) -> float:
    """How good a slot is (weekday 0=Monday, hour 0-23, both in WIB)."""
    for days, hours, factor in SLOT_FACTORS:
        if weekday in days and hour in hours:
            return factor
    return 1.0


def _seed(channel: str, remote_id: str) -> bytes:
    return hashlib.sha256(f"{channel}\x00{remote_id}".encode()).digest()


def _unit(seed: bytes, index: int) -> float:
    """A number in [0, 1) drawn from two bytes of the seed (deterministic)."""
    return int.from_bytes(seed[2 * index : 2 * index + 2], "big") / 65536


def post_factor(channel: str, remote_id: str) -> float:
    """How well this particular post does, 0.4 .. 1.6, from a hash of its id."""
    return 0.4 + 1.2 * _unit(_seed(channel, remote_id), 0)


def reach_ceiling(channel: str, remote_id: str, went_live_at: datetime) -> float:
    """R: the reach the post tends to as it ages."""
    if channel not in BASE:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
    local = went_live_at.astimezone(WIB)
    return (
        BASE[channel] * slot_factor(local.weekday(), local.hour) * post_factor(channel, remote_id)
    )


def figures(channel: str, remote_id: str, went_live_at: datetime, now: datetime) -> dict[str, int]:
    """Every figure of the post at `now` (zeros before it went live); never decreasing in
    `now`, the same for the same arguments. Instagram adds total_interactions (likes,
    comments, saved and shares summed), as the real API does."""
    ceiling = reach_ceiling(channel, remote_id, went_live_at)
    age = max((now - went_live_at).total_seconds(), 0.0)
    reach = ceiling * (1 - math.exp(-age / TAU.total_seconds()))
    seed = _seed(channel, remote_id)
    values = {_REACH_NAME[channel]: math.floor(reach)}
    for index, (name, (low, high)) in enumerate(FRACTIONS[channel].items(), start=1):
        values[name] = math.floor(reach * (low + (high - low) * _unit(seed, index)))
    if channel == "instagram":
        values["total_interactions"] = sum(
            values[n] for n in ("likes", "comments", "saved", "shares")
        )
    return values
