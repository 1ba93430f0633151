"""Fair rotation for one campaign: who takes the next slot, and why, in Indonesian and English.

The rules, strongest first:
1. Hard limits: consent for the channel, active, a photo or logo, not excluded (eligibility.py),
   the account's platform budget (budget.py), the campaign's cooldown, and the diversity caps
   (no more than N in a row, or per week, from one category, province or actor type).
2. Rounds: a campaign goes round by round; a member featured in the current round waits until
   every other eligible member has had their turn. Only when none of the members still waiting
   can take a slot (their channel lacks consent, cooldown, diversity) does someone from the next
   round take it, and the reason says so.
3. Order within a round: never featured in this campaign first, then (a campaign with
   `fair_by = "reach"`) the reach of the member's earlier features, then the province furthest
   below its share of the membership this quarter, then the longest wait (since the last
   feature, or since becoming eligible), then a seeded hash, so the same seed and database
   state always give the same plan.
Category and actor type mean a member's first listed one.

Fair by reach: a member's reach is the mean of the latest reach of their earlier features (every
campaign and channel: `Candidate.reach`). A slot that, by the account's earlier features at the
same weekday and hour, usually reaches at least the account's average goes to the member waiting
whose features reached fewest people; a slot that usually reaches fewer goes to the one whose
features reached most, so the weak slots even out too. A member whose features have no reach
read yet counts as the median member. Only the order within the round changes.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import fmean, median
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal

from ifn_campaign.planner.campaign import Campaign
from ifn_campaign.planner.eligibility import Candidate, ExclusionRule, excluded
from ifn_campaign.planner.names import province_en
from ifn_campaign.planner.slots import Slot

DIMENSIONS = ("category", "province", "actor_type")
DIMENSIONS_BY_BUCKET = ("province", "category", "actor_type")
Bucket = tuple[str | None, str | None, str | None]
# per bucket, in rotation order: (featured, reach key, last feature or since, tiebreak, member)
Queues = dict[Bucket, list[tuple[bool, float, datetime, bytes, str]]]
SlotKey = tuple[str, str, int, int]  # channel, account, local weekday, local hour
_DIM_ID = {"category": "kategori", "province": "provinsi", "actor_type": "jenis pelaku"}
_DIM_EN = {"category": "category", "province": "province", "actor_type": "actor type"}


@dataclass(frozen=True)
class Pick:
    member_id: str
    rotation_round: int
    reason_id: str
    reason_en: str


@dataclass(frozen=True)
class Gap:
    reason_id: str
    reason_en: str


@dataclass
class _Blocks:
    """Why members could not take a slot, counted for the gap's explanation."""

    counts: Counter[str] = field(default_factory=Counter)

    def explain(self) -> tuple[str, str]:
        words = {
            "channel": ("tanpa persetujuan atau tanpa foto/logo", "without consent or photo/logo"),
            "excluded": ("dikecualikan staf", "excluded by staff"),
            "cooldown": ("dalam masa jeda", "in cooldown"),
            "diversity": ("melanggar aturan keragaman", "against the diversity rules"),
        }
        parts = [(n, words[k]) for k, n in sorted(self.counts.items()) if n]
        if not parts:
            return ("tidak ada anggota yang memenuhi syarat", "no eligible member")
        return (
            "tidak ada anggota yang bisa mengisi slot ini: "
            + ", ".join(f"{n} {w[0]}" for n, w in parts),
            "no member can take this slot: " + ", ".join(f"{n} {w[1]}" for n, w in parts),
        )


class Rotation:
    """The state of one campaign's rotation, fed with its live posts, then asked slot by slot."""

    def __init__(
        self,
        campaign: Campaign,
        candidates: Iterable[Candidate],
        exclusions: dict[str, list[ExclusionRule]],
        *,
        seed: int | None = None,
    ) -> None:
        self.campaign = campaign
        self.zone = ZoneInfo(campaign.timezone)
        self.members = {c.id: c for c in candidates}
        self.exclusions = exclusions
        self.seed = campaign.seed if seed is None else seed
        self.cooldown = timedelta(days=campaign.cooldown_days)
        channels = {plan.channel.value for plan in campaign.channels}
        # Who may ever be featured in this campaign: shares and rounds are counted over them.
        self.eligible = {
            c.id
            for c in self.members.values()
            if any(c.refusal(channel) is None for channel in channels)
        }
        self.times: dict[str, list[datetime]] = {}  # member -> live post times in the campaign
        self.round_of: dict[str, int] = {}
        self.timeline: list[tuple[datetime, str]] = []
        self.week_counts: dict[tuple[object, str], Counter[str | None]] = {}
        self._version = 0  # bumped by every add/remove: cached per-slot rules go stale
        self._rules_for: tuple[datetime, int] | None = None
        self._rules: dict[str, set[str]] = {}
        self._sizes: dict[str, dict[Bucket, tuple[int, int]]] = {}
        self.quarter_counts: Counter[tuple[object, str | None]] = Counter()
        self.quarter_totals: Counter[object] = Counter()
        shares = Counter(self.members[i].province for i in self.eligible)
        total = sum(shares.values()) or 1
        self.share = {province: n / total for province, n in shares.items()}
        self._hash = {i: self._tiebreak(i) for i in self.members}
        self._started = 1  # a round begins when everyone had their turn, even before a pick
        self._pool_round: int | None = None
        self._pool: Queues = {}
        self._pool_desc: Queues = {}  # fair by reach: the same members, most reached first
        self._taken: set[str] = set()
        self._pool_ids: set[str] = set()
        self._pool_left = 0
        # Staff pins still ahead in this plan: their members count as featured then for everyone
        # else's cooldown checks, so the rotation never picks them just before or after a pin.
        self.reserved: dict[str, list[datetime]] = {}
        self.by_reach = campaign.fair_by == "reach"
        self.reach: dict[str, float] = {}  # member -> mean reach of earlier features
        self._slot_reach: dict[SlotKey, list[int]] = {}
        self._account_reach: dict[tuple[str, str], list[int]] = {}
        if self.by_reach:
            self._load_reach()
        known = [self.reach[i] for i in self.eligible if i in self.reach]
        self.typical = median(known) if known else 0.0  # what a member with no reading counts as

    # --- state -------------------------------------------------------------------------------

    def _load_reach(self) -> None:
        for member in self.members.values():
            if not member.reach:
                continue
            self.reach[member.id] = fmean(f.reach for f in member.reach)
            for f in member.reach:
                self._slot_reach.setdefault(self._slot_key(f.channel, f.account, f.at), []).append(
                    f.reach
                )
                self._account_reach.setdefault((f.channel, f.account), []).append(f.reach)

    def _slot_key(self, channel: str, account: str, at: datetime) -> SlotKey:
        local = at.astimezone(self.zone)
        return (channel, account, local.weekday(), local.hour)

    def weak_slot(self, slot: Slot) -> tuple[float, float] | None:
        """The mean reach of the account's earlier features at `slot`'s weekday and hour, and
        of all of them, when the slot usually reaches fewer people; None when it reaches at
        least the average or has no history (fair by reach only)."""
        if not self.by_reach:
            return None
        channel = slot.channel.value
        here = self._slot_reach.get(self._slot_key(channel, slot.account, slot.at))
        every = self._account_reach.get((channel, slot.account))
        if not here or not every:
            return None
        here_mean, every_mean = fmean(here), fmean(every)
        return (here_mean, every_mean) if here_mean < every_mean else None

    def _reach_key(self, member_id: str, sign: int) -> float:
        if not self.by_reach:
            return 0.0
        return sign * round(self.reach.get(member_id, self.typical), 6)

    def _tiebreak(self, member_id: str) -> bytes:
        text = f"{self.seed}\x00{self.campaign.name}\x00{member_id}"
        return hashlib.sha256(text.encode()).digest()[:8]

    def _week(self, at: datetime) -> object:
        return at.astimezone(self.zone).isocalendar()[:2]

    def _quarter(self, at: datetime) -> object:
        local = at.astimezone(self.zone)
        return (local.year, (local.month - 1) // 3)

    def _value(self, member_id: str, dimension: str) -> str | None:
        member = self.members.get(member_id)
        return None if member is None else getattr(member, dimension)

    def add(self, member_id: str, at: datetime, rotation_round: int) -> None:
        """Count a live post (existing or just planned)."""
        insort(self.times.setdefault(member_id, []), at)
        self.round_of[member_id] = max(self.round_of.get(member_id, 0), rotation_round)
        insort(self.timeline, (at, member_id))
        self._version += 1
        week = self._week(at)
        for dim in DIMENSIONS:
            self.week_counts.setdefault((week, dim), Counter())[self._value(member_id, dim)] += 1
        quarter = self._quarter(at)
        self.quarter_counts[(quarter, self._value(member_id, "province"))] += 1
        self.quarter_totals[quarter] += 1

    def remove(self, member_id: str, at: datetime) -> None:
        """Forget a live post that is being cancelled or replaced (its round stays counted for
        the rest of this plan: the member's turn is not handed back mid-plan)."""
        times = self.times.get(member_id, [])
        if at in times:
            times.remove(at)
        key = (at, member_id)
        i = bisect_left(self.timeline, key)
        if i < len(self.timeline) and self.timeline[i] == key:
            del self.timeline[i]
            self._version += 1
            week = self._week(at)
            for dim in DIMENSIONS:
                self.week_counts[(week, dim)][self._value(member_id, dim)] -= 1
            quarter = self._quarter(at)
            self.quarter_counts[(quarter, self._value(member_id, "province"))] -= 1
            self.quarter_totals[quarter] -= 1

    def reserve(self, member_id: str, at: datetime) -> None:
        """A pin that a later slot of this plan will apply (see `pin`, which consumes it)."""
        insort(self.reserved.setdefault(member_id, []), at)

    def release(self, member_id: str, at: datetime) -> None:
        """Forget a reservation (the pin was applied, or cannot be after all)."""
        times = self.reserved.get(member_id, [])
        if at in times:
            times.remove(at)

    @property
    def current_round(self) -> int:
        return max(max(self.round_of.values(), default=0), self._started)

    # --- rules -------------------------------------------------------------------------------

    def _in_cooldown(self, member_id: str, at: datetime) -> bool:
        return self._near(self.times.get(member_id), at) or self._near(
            self.reserved.get(member_id), at
        )

    def _near(self, times: list[datetime] | None, at: datetime) -> bool:
        if not times:
            return False
        i = bisect_left(times, at)
        near = times[max(0, i - 1) : i + 1]
        return any(abs(t - at) < self.cooldown or t == at for t in near)

    def cooldown_conflict(self, member_id: str, at: datetime, anchored: list[datetime]) -> bool:
        """Whether a planned post of `member_id` at `at` (already counted) now sits in the
        cooldown of another post: an earlier one, or one that will not move (`anchored`: signed
        off or pinned). Only the later of two planned posts gives way, so a plan the rotation
        made itself never conflicts with itself."""
        earlier = [t for t in self.times.get(member_id, ()) if t < at]
        if earlier and at - earlier[-1] < self.cooldown:
            return True
        return any(abs(t - at) < self.cooldown or t == at for t in anchored)

    def _blocked(self, at: datetime) -> dict[str, set[str]]:
        """Per dimension, the values a post at `at` may not have: computed once per slot (and
        state), so checking a member is a set lookup whatever the membership size."""
        if self._rules_for == (at, self._version):
            return self._rules
        rules = self.campaign.diversity
        week = self._week(at)
        i = bisect_left(self.timeline, (at, ""))
        blocked: dict[str, set[str]] = {}
        for dim in DIMENSIONS:
            values: set[str] = set()
            cap = rules.max_per_week.get(dim, 0)
            if cap:
                counts = self.week_counts.get((week, dim), Counter())
                values |= {v for v, n in counts.items() if v is not None and n >= cap}
            cap = rules.max_in_a_row.get(dim, 0)
            if cap:
                before = self._run(i - 1, -1, dim)
                after = self._run(i, 1, dim)
                for value, _ in (before, after):
                    if value is None:
                        continue
                    total = 1 + (before[1] if before[0] == value else 0)
                    total += after[1] if after[0] == value else 0
                    if total > cap:
                        values.add(value)
            blocked[dim] = values
        self._rules_for, self._rules = (at, self._version), blocked
        return blocked

    def _run(self, start: int, step: int, dim: str) -> tuple[str | None, int]:
        """The value at timeline[start] and how many posts in a row from there share it."""
        if not 0 <= start < len(self.timeline):
            return None, 0
        value = self._value(self.timeline[start][1], dim)
        j, run = start, 0
        while 0 <= j < len(self.timeline) and self._value(self.timeline[j][1], dim) == value:
            run, j = run + 1, j + step
        return value, run

    def _breaks_diversity(self, member_id: str, at: datetime) -> str | None:
        blocked = self._blocked(at)
        member = self.members[member_id]
        for dim in DIMENSIONS:
            value = getattr(member, dim)
            if value is not None and value in blocked[dim]:
                return dim
        return None

    def refusal(
        self, member_id: str, slot: Slot, *, pinned: bool = False
    ) -> tuple[str, str] | None:
        """Why `member_id` may not take `slot`; pins skip cooldown and diversity, never consent."""
        member = self.members.get(member_id)
        if member is None:
            return ("anggota tidak dikenal", "unknown member")
        why = member.refusal(slot.channel.value)
        if why is not None:
            return why
        rule = excluded(self.exclusions, member_id, self.campaign.name, slot.at)
        if rule is not None:
            return (f"dikecualikan staf: {rule.reason}", f"excluded by staff: {rule.reason}")
        if pinned:
            return None
        if self._in_cooldown(member_id, slot.at):
            return ("dalam masa jeda kampanye", "in the campaign's cooldown")
        dim = self._breaks_diversity(member_id, slot.at)
        if dim is not None:
            return (f"aturan keragaman {_DIM_ID[dim]}", f"diversity rule on {_DIM_EN[dim]}")
        return None

    # --- picking -----------------------------------------------------------------------------

    def _deficit(self, province: str | None, at: datetime) -> float:
        quarter = self._quarter(at)
        expected = self.share.get(province, 0.0) * (self.quarter_totals[quarter] + 1)
        return expected - self.quarter_counts[(quarter, province)]

    def _bucket(self, member_id: str) -> Bucket:
        m = self.members[member_id]
        return (m.province, m.category, m.actor_type)

    def _queues(self, ids: Iterable[str], sign: int = 1) -> Queues:
        """Members in rotation order, per (province, category, actor type): a diversity cap rules
        out a whole bucket at once, and a province's deficit is the same for its buckets, so
        only each bucket's front runner needs checking against the other rules. Fair by reach,
        `sign` 1 puts the least reached first, -1 the most reached."""
        queues: Queues = {}
        for member_id in ids:
            times = self.times.get(member_id)
            queues.setdefault(self._bucket(member_id), []).append(
                (
                    bool(times),
                    self._reach_key(member_id, sign),
                    times[-1] if times else self.members[member_id].since,
                    self._hash[member_id],
                    member_id,
                )
            )
        for queue in queues.values():
            queue.sort()
        return queues

    def _bucket_blocked(self, bucket: Bucket, at: datetime) -> bool:
        blocked = self._blocked(at)
        return any(
            value is not None and value in blocked[dim]
            for dim, value in zip(DIMENSIONS_BY_BUCKET, bucket, strict=True)
        )

    def _best(self, queues: Queues, slot: Slot, taken: set[str]) -> str | None:
        best: tuple[bool, float, float, datetime, bytes, str] | None = None
        deficits: dict[str | None, float] = {}
        for bucket, queue in queues.items():
            if self._bucket_blocked(bucket, slot.at):
                continue
            province = bucket[0]
            if province not in deficits:
                deficits[province] = -round(self._deficit(province, slot.at), 6)
            deficit = deficits[province]
            for featured, reach, last, tiebreak, member_id in queue:
                if member_id in taken:
                    continue
                key = (featured, reach, deficit, last, tiebreak, member_id)
                if best is not None and key >= best:
                    break  # nobody later in this queue can beat the best so far
                if self._block(member_id, slot) is None:
                    best = key
                    break
        return None if best is None else best[-1]

    def _explain(self, slot: Slot) -> Gap:
        """Why nobody can take `slot`, counted per rule in the order the rules are checked;
        per bucket and over the few members near the slot, not member by member."""
        channel, at = slot.channel.value, slot.at
        blocks = _Blocks()
        open_buckets: set[Bucket] = set()
        for bucket, (size, refused) in self._bucket_sizes(channel).items():
            blocks.counts["channel"] += refused
            if self._bucket_blocked(bucket, at):
                blocks.counts["diversity"] += size - refused
            else:
                open_buckets.add(bucket)
        counted: set[str] = set()
        for member_id in self.exclusions:
            if (
                member_id in self.eligible
                and self.members[member_id].refusal(channel) is None
                and self._bucket(member_id) in open_buckets
                and excluded(self.exclusions, member_id, self.campaign.name, at) is not None
            ):
                blocks.counts["excluded"] += 1
                counted.add(member_id)
        lo = bisect_left(self.timeline, (at - self.cooldown, ""))
        hi = bisect_left(self.timeline, (at + self.cooldown + timedelta(microseconds=1), ""))
        near = [member_id for _, member_id in self.timeline[lo:hi]]
        near += [member_id for member_id, times in self.reserved.items() if times]
        for member_id in near:
            if (
                member_id not in counted
                and member_id in self.eligible
                and self.members[member_id].refusal(channel) is None
                and self._bucket(member_id) in open_buckets
                and self._in_cooldown(member_id, at)
            ):
                blocks.counts["cooldown"] += 1
                counted.add(member_id)
        return Gap(*blocks.explain())

    def _bucket_sizes(self, channel: str) -> dict[Bucket, tuple[int, int]]:
        """Eligible members per bucket, and how many of them cannot be on `channel` at all."""
        if channel not in self._sizes:
            sizes: dict[Bucket, list[int]] = {}
            for member_id in self.eligible:
                entry = sizes.setdefault(self._bucket(member_id), [0, 0])
                entry[0] += 1
                entry[1] += self.members[member_id].refusal(channel) is not None
            self._sizes[channel] = {k: (v[0], v[1]) for k, v in sizes.items()}
        return self._sizes[channel]

    def _block(self, member_id: str, slot: Slot) -> str | None:
        member = self.members[member_id]
        if member.refusal(slot.channel.value) is not None:
            return "channel"
        if excluded(self.exclusions, member_id, self.campaign.name, slot.at) is not None:
            return "excluded"
        if self._in_cooldown(member_id, slot.at):
            return "cooldown"
        if self._breaks_diversity(member_id, slot.at) is not None:
            return "diversity"
        return None

    def _waiting(self) -> tuple[int, Queues]:
        """The round in progress and its members still waiting, in rotation order (built once a
        round: a member leaves the queue by being featured, which never reorders the others)."""
        current = self.current_round
        if self._pool_round != current:
            self._pool_round = current
            self._taken = set()
            waiting = [i for i in self.eligible if self.round_of.get(i, 0) < current]
            self._pool = self._queues(waiting)
            self._pool_desc = self._queues(waiting, -1) if self.by_reach else self._pool
            self._pool_ids = set(waiting)
            self._pool_left = len(waiting)
        return current, self._pool

    def _nobody_waiting(self, slot: Slot) -> bool:
        if self._pool_left == 0:
            return True
        if self._pool_left > sum(len(rules) for rules in self.exclusions.values()):
            return False
        return all(
            excluded(self.exclusions, i, self.campaign.name, slot.at) is not None
            for queue in self._pool.values()
            for *_, i in queue
            if i not in self._taken
        )

    def _take(self, member_id: str, at: datetime, rotation_round: int) -> None:
        if member_id in self._pool_ids and member_id not in self._taken:
            self._taken.add(member_id)
            self._pool_left -= 1
        self.add(member_id, at, rotation_round)

    def _round_for(self, slot: Slot) -> int:
        """The round in progress at `slot`: a new one begins once everyone had their turn."""
        current, _ = self._waiting()
        if self._nobody_waiting(slot):
            self._started = current + 1
            current, _ = self._waiting()
        return current

    def pick(self, slot: Slot) -> Pick | Gap:
        """Choose who takes `slot` and count them; a Gap says why nobody can."""
        current = self._round_for(slot)
        weak = self.weak_slot(slot)
        sign = 1 if weak is None else -1
        queues = self._pool if weak is None else self._pool_desc
        waiting = self._pool_left
        chosen = self._best(queues, slot, self._taken)
        early = False
        if chosen is None:
            done = [i for i in self.eligible if self.round_of.get(i, 0) >= current]
            chosen = self._best(self._queues(done, sign), slot, set())
            early = chosen is not None
        if chosen is None:
            return self._explain(slot)
        reason = self._reason(chosen, slot, current, early, waiting, weak)
        assigned = current + 1 if early else current
        self._take(chosen, slot.at, assigned)
        return Pick(chosen, assigned, *reason)

    def pin(self, member_id: str, slot: Slot, note: str | None) -> Pick:
        """A staff pin counts as the member's turn in the round in progress (never a new round)."""
        current = self._round_for(slot)
        assigned = max(self.round_of.get(member_id, 0), current)
        self.release(member_id, slot.at)
        self._take(member_id, slot.at, assigned)
        extra = f": {note}" if note else ""
        return Pick(member_id, assigned, f"dipilih staf (pin){extra}", f"pinned by staff{extra}")

    def _reason(
        self,
        member_id: str,
        slot: Slot,
        current: int,
        early: bool,
        waiting: int,
        weak: tuple[float, float] | None = None,
    ) -> tuple[str, str]:
        member = self.members[member_id]
        before = [t for t in self.times.get(member_id, ()) if t < slot.at]
        if before:
            days = (slot.at - before[-1]).days
            local = before[-1].astimezone(self.zone).date().isoformat()
            ids = [f"terakhir ditampilkan {local} ({days} hari sebelumnya)"]
            ens = [f"last featured {local} ({days} days before)"]
        else:
            ids = ["belum pernah ditampilkan di kampanye ini"]
            ens = ["never featured in this campaign"]
        if early:
            ids.append(
                f"putaran {current + 1} dimulai lebih awal: {waiting} anggota yang masih menunggu "
                "tidak bisa mengisi slot ini"
            )
            ens.append(
                f"round {current + 1} starts early: the {waiting} members still waiting cannot "
                "take this slot"
            )
        if self.by_reach:
            reach_id, reach_en = self._reach_reason(member_id, weak)
            ids.append(reach_id)
            ens.append(reach_en)
        deficit = self._deficit(member.province, slot.at)
        if member.province and deficit >= 0.5:
            ids.append(f"{member.province} kurang terwakili kuartal ini")
            ens.append(f"{province_en(member.province)} under-represented this quarter")
        return "; ".join(ids), "; ".join(ens)

    def _reach_reason(self, member_id: str, weak: tuple[float, float] | None) -> tuple[str, str]:
        """Fair by reach: how far the member's earlier features reached (few at most the median
        member on a good slot, many at least the median on a weak one, else just the figure),
        and, on a slot that usually reaches fewer people, that too."""
        mean = self.reach.get(member_id)
        if mean is None:
            typical_id, typical_en = _people(self.typical, "id"), _people(self.typical, "en")
            text_id = f"jangkauan fitur sebelumnya belum terbaca (dihitung {typical_id} orang)"
            text_en = f"no reach read yet for earlier features (counted as {typical_en} people)"
        elif weak is None and mean <= self.typical:
            text_id = f"jangkauan fitur sebelumnya rendah (rata-rata {_people(mean, 'id')} orang)"
            text_en = f"earlier features reached few people ({_people(mean, 'en')} on average)"
        elif weak is not None and mean >= self.typical:
            text_id = f"jangkauan fitur sebelumnya tinggi (rata-rata {_people(mean, 'id')} orang)"
            text_en = f"earlier features reached many people ({_people(mean, 'en')} on average)"
        else:  # the least reached left above the median, or the most reached left below it
            text_id = f"jangkauan fitur sebelumnya rata-rata {_people(mean, 'id')} orang"
            text_en = f"earlier features reached {_people(mean, 'en')} people on average"
        if weak is not None:
            here, every = weak
            text_id += (
                f"; slot ini biasanya menjangkau lebih sedikit (rata-rata {_people(here, 'id')} "
                f"orang, akun ini {_people(every, 'id')})"
            )
            text_en += (
                f"; this slot usually reaches fewer people ({_people(here, 'en')} on average, "
                f"the account {_people(every, 'en')})"
            )
        return text_id, text_en


def _people(value: float, lang: str) -> str:
    """A count of people as the language writes it: 1.234 (Indonesian), 1,234 (English)."""
    return str(format_decimal(round(value), "#,##0", locale=lang))
