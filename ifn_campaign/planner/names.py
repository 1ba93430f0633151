"""Names the planner shows: provinces in English for the English half of each reason."""

from __future__ import annotations

from functools import cache

from ifn_campaign.registry.record import vocabulary


@cache
def _provinces() -> dict[str, str]:
    return {name: names["en"] for name, names in vocabulary().get("provinces", {}).items()}


def province_en(province: str) -> str:
    """'Jawa Timur' -> 'East Java'; a province we do not know is shown as written."""
    return _provinces().get(province, province)
