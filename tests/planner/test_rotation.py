"""The rotation's promises, as properties over random memberships and campaigns: consent, cooldown
and diversity are never broken, every member gets a turn before anyone gets two (unless the
reason says a round started early), and the same seed gives the same plan."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ifn_campaign.planner.campaign import Campaign
from ifn_campaign.planner.eligibility import Candidate, ExclusionRule
from ifn_campaign.planner.rotation import DIMENSIONS, Gap, Pick, Rotation
from ifn_campaign.planner.slots import Slot, campaign_slots

START = datetime(2027, 1, 4, tzinfo=UTC)  # a Monday
PROVINCES = ["Jawa Barat", "Jawa Timur", "Jawa Tengah", "Banten", "Bali", None]
CATEGORIES = ["sneakers", "leather_shoes", "sandals", "boots", None]
ACTORS = ["brand", "producer", "supplier", None]
CHANNELS = ["instagram", "facebook", "youtube"]
OFF = dict.fromkeys(DIMENSIONS, 0)


def campaign(**overrides: Any) -> Campaign:
    data: dict[str, Any] = {
        "name": "uji",
        "title": "Uji",
        "start": date(2027, 1, 1),
        "holidays": "ignore",
        "cooldown_days": 0,
        "channels": [
            {"channel": "instagram", "slots": [{"days": ["tue", "thu"], "time": "19:00"}]},
            {"channel": "facebook", "slots": [{"days": ["wed"], "time": "18:30"}]},
            {"channel": "youtube", "slots": [{"days": ["fri"], "time": "17:00"}]},
        ],
        "diversity": {"max_in_a_row": OFF, "max_per_week": OFF},
    }
    data.update(overrides)
    return Campaign.model_validate(data, context={"source": "toml"})


def member(i: int, **kw: Any) -> Candidate:
    values: dict[str, Any] = {
        "id": f"m{i:03d}",
        "name": f"Anggota {i}",
        "province": PROVINCES[i % 5],
        "category": CATEGORIES[i % 4],
        "actor_type": ACTORS[i % 3],
        "status": "active",
        "consent_channels": frozenset(CHANNELS),
        "has_media": True,
        "since": START - timedelta(days=30),
    }
    values.update(kw)
    return Candidate(**values)


def slots(c: Campaign, weeks: int) -> list[Slot]:
    return campaign_slots(c, START, START + timedelta(weeks=weeks)).slots


def run(rotation: Rotation, upcoming: list[Slot]) -> list[tuple[Slot, Pick | Gap]]:
    return [(slot, rotation.pick(slot)) for slot in upcoming]


def test_never_featured_first_then_everyone_once_before_anyone_twice() -> None:
    c = campaign()
    members = [member(i) for i in range(10)]
    picks = [p for _, p in run(Rotation(c, members, {}), slots(c, 10))]
    assert all(isinstance(p, Pick) for p in picks)
    ids = [p.member_id for p in picks if isinstance(p, Pick)]
    assert sorted(ids[:10]) == sorted(m.id for m in members)
    assert sorted(ids[10:20]) == sorted(m.id for m in members)
    assert all(isinstance(p, Pick) and p.reason_en.startswith("never featured") for p in picks[:10])
    assert all(isinstance(p, Pick) and "last featured" in p.reason_en for p in picks[10:])
    assert [p.rotation_round for p in picks if isinstance(p, Pick)][:20] == [1] * 10 + [2] * 10


def test_same_seed_same_plan_other_seed_other_order() -> None:
    c = campaign()
    members = [member(i, province="Bali") for i in range(30)]
    first = [p for _, p in run(Rotation(c, members, {}, seed=1), slots(c, 6))]
    again = [p for _, p in run(Rotation(c, members, {}, seed=1), slots(c, 6))]
    other = [p for _, p in run(Rotation(c, members, {}, seed=2), slots(c, 6))]
    assert first == again
    assert first != other


def test_cooldown_leaves_a_gap_with_the_reason() -> None:
    c = campaign(cooldown_days=30)
    picks = run(Rotation(c, [member(1), member(2)], {}), slots(c, 2))
    gaps = [p for _, p in picks if isinstance(p, Gap)]
    assert len([p for _, p in picks if isinstance(p, Pick)]) == 2
    assert gaps and gaps[0].reason_en == "no member can take this slot: 2 in cooldown"
    assert gaps[0].reason_id == "tidak ada anggota yang bisa mengisi slot ini: 2 dalam masa jeda"


def test_consent_per_channel_and_early_round_is_explained() -> None:
    c = campaign()
    # m000 may only appear on Instagram; once everyone else had their turn, the Facebook and
    # YouTube slots cannot wait for m000, so the next round starts early and says so.
    members = [member(0, consent_channels=frozenset({"instagram"}))] + [
        member(i, consent_channels=frozenset(CHANNELS)) for i in range(1, 4)
    ]
    picks = run(Rotation(c, members, {}), slots(c, 3))
    for slot, pick in picks:
        assert isinstance(pick, Pick)
        if pick.member_id == "m000":
            assert slot.channel.value == "instagram"
    early = [p for _, p in picks if isinstance(p, Pick) and "starts early" in p.reason_en]
    assert early


def test_exclusion_wins_until_its_end() -> None:
    c = campaign()
    until = START + timedelta(days=9)
    rules = {"m001": [ExclusionRule("m001", None, until, "sedang diaudit")]}
    picks = run(Rotation(c, [member(1), member(2)], rules), slots(c, 3))
    m001 = [s.at for s, p in picks if isinstance(p, Pick) and p.member_id == "m001"]
    assert m001 and min(m001) >= until


def test_province_share_shows_in_the_reason() -> None:
    c = campaign()
    members = [member(i, province="Jawa Timur") for i in range(6)] + [
        member(i, province="Bali") for i in range(6, 8)
    ]
    picks = [p for _, p in run(Rotation(c, members, {}), slots(c, 2)) if isinstance(p, Pick)]
    east = [p for p in picks if "East Java under-represented this quarter" in p.reason_en]
    assert east and all("Jawa Timur kurang terwakili kuartal ini" in p.reason_id for p in east)
    by_province = Counter("Bali" if p.member_id in ("m006", "m007") else "JT" for p in picks)
    assert by_province["JT"] == 6 and by_province["Bali"] == 2  # 3:1 share over 8 picks


def test_pin_skips_cooldown_and_rotation_but_keeps_the_round() -> None:
    c = campaign(cooldown_days=60)
    rotation = Rotation(c, [member(1), member(2), member(3)], {})
    upcoming = slots(c, 1)
    first = rotation.pick(upcoming[0])
    assert isinstance(first, Pick)
    assert rotation.refusal(first.member_id, upcoming[1], pinned=True) is None
    assert rotation.refusal(first.member_id, upcoming[1]) is not None  # cooldown
    pinned = rotation.pin(first.member_id, upcoming[1], "ulang tahun ke-25")
    assert pinned.reason_en == "pinned by staff: ulang tahun ke-25"
    assert pinned.rotation_round == 1


def test_a_pin_after_a_finished_round_counts_in_the_next_round() -> None:
    c = campaign()
    rotation = Rotation(c, [member(1), member(2), member(3)], {})
    upcoming = slots(c, 2)
    firsts = [rotation.pick(slot) for slot in upcoming[:3]]
    assert all(isinstance(p, Pick) and p.rotation_round == 1 for p in firsts)
    star = firsts[0].member_id  # type: ignore[union-attr]
    pinned = rotation.pin(star, upcoming[3], None)
    assert pinned.rotation_round == 2  # round 1 was over: the pin is the member's round-2 turn
    after = [rotation.pick(slot) for slot in upcoming[4:6]]
    assert [p.rotation_round for p in after if isinstance(p, Pick)] == [2, 2]
    assert star not in {p.member_id for p in after if isinstance(p, Pick)}


members_strategy = st.lists(
    st.builds(
        lambda p, c, a, ch, media, status: (p, c, a, ch, media, status),
        st.sampled_from(PROVINCES),
        st.sampled_from(CATEGORIES),
        st.sampled_from(ACTORS),
        st.frozensets(st.sampled_from(CHANNELS)),
        st.booleans(),
        st.sampled_from(["active", "active", "active", "suspended"]),
    ),
    min_size=0,
    max_size=25,
)
caps = st.dictionaries(st.sampled_from(DIMENSIONS), st.integers(0, 3), max_size=3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people=members_strategy,
    in_a_row=caps,
    per_week=caps,
    cooldown=st.sampled_from([0, 7, 21]),
    weeks=st.integers(1, 12),
    seed=st.integers(0, 3),
)
def test_rules_are_never_broken(
    people: list[tuple[Any, ...]],
    in_a_row: dict[str, int],
    per_week: dict[str, int],
    cooldown: int,
    weeks: int,
    seed: int,
) -> None:
    c = campaign(
        cooldown_days=cooldown,
        diversity={"max_in_a_row": OFF | in_a_row, "max_per_week": OFF | per_week},
    )
    members = [
        member(
            i, province=p, category=cat, actor_type=a, consent_channels=ch, has_media=m, status=s
        )
        for i, (p, cat, a, ch, m, s) in enumerate(people)
    ]
    by_id = {m.id: m for m in members}
    upcoming = slots(c, weeks)
    rotation = Rotation(c, members, {}, seed=seed)
    picks = []
    for slot in upcoming:
        pick = rotation.pick(slot)
        if isinstance(pick, Gap):  # really nobody, and each eligible member counted once
            assert all(rotation.refusal(m.id, slot) is not None for m in members)
            counted = sum(int(w) for w in re.findall(r"(\d+) ", pick.reason_en))
            assert counted == len(rotation.eligible)
        picks.append((slot, pick))
    assert picks == run(Rotation(c, members, {}, seed=seed), upcoming)  # deterministic

    chosen = [(s, p) for s, p in picks if isinstance(p, Pick)]
    for slot, pick in chosen:
        m = by_id[pick.member_id]
        assert m.status == "active" and m.has_media
        assert slot.channel.value in m.consent_channels
    times: dict[str, list[datetime]] = {}
    for slot, pick in chosen:
        times.setdefault(pick.member_id, []).append(slot.at)
    for featured in times.values():
        for a, b in pairwise(featured):
            assert b - a >= timedelta(days=cooldown) and b != a
    for dim in DIMENSIONS:
        values = [getattr(by_id[p.member_id], dim) for _, p in chosen]
        cap = in_a_row.get(dim, 0)
        if cap:
            run_length, previous = 0, object()
            for value in values:
                run_length = run_length + 1 if value == previous and value is not None else 1
                previous = value
                assert value is None or run_length <= cap
        cap = per_week.get(dim, 0)
        if cap:
            weekly = Counter(
                (s.local.isocalendar()[:2], getattr(by_id[p.member_id], dim)) for s, p in chosen
            )
            assert all(n <= cap for (_, v), n in weekly.items() if v is not None)
    # Fairness: a second turn before someone's first only when a round was started early.
    counts: Counter[str] = Counter()
    early = False
    eligible = {m.id for m in members if any(m.refusal(ch) is None for ch in CHANNELS)}
    for _, pick in chosen:
        early = early or "starts early" in pick.reason_en
        counts[pick.member_id] += 1
        if not early:
            assert max(counts.values()) - min(counts[i] for i in eligible) <= 1
    # A gap only when nobody at all could take the slot.
    for _, pick in picks:
        if isinstance(pick, Gap):
            assert pick.reason_en.startswith("no ")
