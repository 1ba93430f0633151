"""One insights run: read every due reading (`schedule`) from its platform (`platforms`) and store
the figures, a batch at a time.

- Within the publisher's limits: accounts under a platform block (`publishing.blocks`) or
  awaiting re-authorisation are not called; a rate limit met now, or one the Graph client set
  itself from the usage headers, is stored as a block the same way the publisher stores it, and
  that account's remaining readings wait for the next run after it ends. A dead token is kept
  as the publisher keeps it (`AccountState`): neither calls the account until staff
  re-authorise it. A failure that passes, met after the client's own retries, leaves the
  account alone for the rest of the run.
- Within a share of YouTube's daily quota (`insights.youtube_quota_share` of
  `youtube.quota_units_per_day`), counted in `QuotaUse` under "youtube:<client id>:insights" per
  Pacific quota day, in the same transaction as the readings the units paid for. Once the share
  is spent, YouTube readings wait for the next quota day; quotaExceeded blocks the OAuth
  client's project until the reset, as in the publisher.
- One call at a time, in the same order every run; the next batch's call is made in a worker
  thread while this batch is stored (`_read_batches`). Each batch is committed on its own, with
  its posts' missed marks: a run killed midway loses at most the batch being stored and the one
  asked for (read again next run), and never stores a figure for the wrong post or mark. A
  reading is stored once per (post, mark): it is looked up again before it is written, and the
  table's unique key refuses a second.
- No data yet (Meta's empty data set, code 10) and failures that pass are tried again with a
  doubling wait (`retry_base_seconds` .. `retry_max_seconds`) until `max_attempts`, then
  `failed`. A post the platform no longer has is `gone` (`Post.remote_gone_at`) and never asked
  again. A batch of more than one post coming back gone as a whole proves nothing: Graph's 803
  and 100/33 also mean "cannot be loaded due to missing permissions", so a token swapped for
  another Page's would mark every post gone; none is, the readings are asked again later and
  the run report says why (`ALL_GONE`). What an answer had that could not be used
  (`platforms`: a value that is no whole count, a period not lifetime) and a reach below an
  earlier reading's are said on the reading (`last_error`); every figure 0 after a reading
  with a reach is asked again, not stored.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ifn_campaign.channels.channel import Channel
from ifn_campaign.channels.clients import ChannelClients
from ifn_campaign.channels.youtube import PACIFIC, quota_resets_at
from ifn_campaign.config import Settings
from ifn_campaign.errors import (
    ChannelBlocked,
    ChannelError,
    ChannelReauthNeeded,
    ChannelTransient,
    ConfigError,
    GraphError,
)
from ifn_campaign.insights.figures import REACH_METRIC
from ifn_campaign.insights.platforms import (
    NO_DATA,
    BatchResult,
    read_graph,
    read_youtube,
    valid_remote_id,
)
from ifn_campaign.insights.schedule import FINAL, Due, due_readings, mark_after
from ifn_campaign.models import (
    AccountState,
    InsightMetric,
    InsightReading,
    Post,
    QuotaUse,
    ReadingState,
    utcnow,
)
from ifn_campaign.publishing.blocks import APP, app_key, blocked_accounts, describe, keep_limit
from ifn_campaign.reports.markdown import escape_markdown

if TYPE_CHECKING:
    from ifn_campaign.wiring import Resources

__all__ = [
    "InsightsReport",
    "Outcome",
    "insights_markdown",
    "quota_key",
    "read_due",
    "run_insights",
]

_log = logging.getLogger(__name__)

ALL_GONE = (
    "every post of the batch came back as not existing, which more likely means the token "
    "cannot see them (a token of another Page or account, or a permission lost: Graph codes "
    "803 and 100/33 say both) than that all were deleted; none is taken for gone. Check the "
    "account's token (`ifn-campaign doctor`)"
)


@dataclass(frozen=True)
class Outcome:
    """What became of one reading in this run: `state` is its ReadingState, `detail` the reach
    read or why not."""

    post_id: int
    channel: str
    mark: str
    state: str
    detail: str


@dataclass
class InsightsReport:
    """What a run did: each reading's outcome, the accounts it did not call and why, the calls
    made per channel and the YouTube units spent."""

    outcomes: list[Outcome] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    youtube_units: int = 0

    def count(self, state: str) -> int:
        return sum(1 for o in self.outcomes if o.state == state)

    @property
    def read(self) -> int:
        return self.count(ReadingState.READ)


def quota_key(settings: Settings, account: str) -> str:
    """The `QuotaUse` key of insights' YouTube units: the OAuth client's project."""
    return f"{app_key(settings, Channel.YOUTUBE, account)}:insights"


def quota_day(now: datetime) -> str:
    """YouTube's quota day `now` falls in (it resets at midnight Pacific)."""
    return now.astimezone(PACIFIC).date().isoformat()


def units_spent(session: Session, key: str, now: datetime) -> int:
    row = session.get(QuotaUse, (key, quota_day(now)))
    return row.units if row is not None else 0


def read_due(
    session: Session,
    settings: Settings,
    clients: ChannelClients,
    now: datetime,
    *,
    limit: int | None = None,
    clock: Callable[[], datetime] | None = None,
    post_ids: Collection[int] | None = None,
) -> InsightsReport:
    """Read the readings due at `now` (at most `limit`, default `insights.max_readings`) and
    store them batch by batch. `clock` stamps blocks and reads (default: `now` throughout);
    `post_ids` keeps the run to those posts."""
    run = _Run(session, settings, clients, now, clock or (lambda: now))
    run.go(limit, post_ids)
    return run.report


@dataclass(eq=False)
class _Row:
    """A reading as the run works on it: a stored row's columns, or a new one (`id` None)."""

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "id",
        "post_id",
        "mark",
        "due_at",
        "state",
        "read_at",
        "attempts",
        "next_attempt_at",
        "last_error",
        "reach",
    )

    id: int | None
    post_id: int
    mark: str
    due_at: datetime
    state: str
    attempts: int
    read_at: datetime | None = None
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    reach: int | None = None
    changed: bool = False

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.COLUMNS if name != "id"}


class _Run:
    def __init__(
        self,
        session: Session,
        settings: Settings,
        clients: ChannelClients,
        now: datetime,
        clock: Callable[[], datetime],
    ) -> None:
        self.session = session
        self.settings = settings
        self.clients = clients
        self.now = now
        self.clock = clock
        self.report = InsightsReport()
        self.cfg = settings.insights
        self.budget = int(self.cfg.youtube_quota_share * settings.youtube.quota_units_per_day)
        self.stopped: set[tuple[str, str]] = set()  # accounts not to call again in this run
        self.stopped_apps: set[str] = set()  # apps (blocks.app_key) met an app-wide limit
        self.rows: dict[tuple[int, str], _Row] = {}  # the batch's readings, stored and new
        self.figures: list[tuple[_Row, dict[str, int]]] = []  # read in the batch
        self.gone: list[int] = []  # posts the batch found deleted on the platform
        self.done = 0
        self.total = 0
        self.unstored_units: dict[str, int] = {}  # YouTube units answered, not stored yet
        self.outcomes_from = 0  # the report's first outcome of the batch being stored
        self.missed_done: set[int] = set()  # posts whose missed marks this run has written

    # --- the run ---------------------------------------------------------------------------

    def go(self, limit: int | None, post_ids: Collection[int] | None) -> None:
        if not self.cfg.enabled:
            self.report.waiting.append("insights.enabled is false: nothing read")
            return
        skip = self._not_to_call()
        dues = due_readings(
            self.session, self.settings, self.now, limit=limit, skip=skip, post_ids=post_ids
        )
        self.session.commit()  # the posts and readings stay loaded; nothing is held locked
        self.total = len(dues)
        if dues:
            _log.info("insights: %d readings due", len(dues))
        self._read_batches([d for d in dues if self._usable(d)])
        self._record_missed([d for d in dues if d.post.id not in self.missed_done])

    def _not_to_call(self) -> set[tuple[str, str]]:
        """Accounts a block covers, awaiting re-authorisation, or whose YouTube share is spent:
        their readings wait, saying why once each."""
        skip: set[tuple[str, str]] = set()
        for (channel, account), block in blocked_accounts(
            self.session, self.settings, self.now
        ).items():
            skip.add((channel, account))
            self.report.waiting.append(
                f"{channel} {account}: not called until "
                f"{block.blocked_until:%Y-%m-%d %H:%M} UTC ({describe(block)})"
            )
        for state in self.session.scalars(
            select(AccountState).where(AccountState.needs_reauth_since.is_not(None))  # type: ignore[union-attr]
        ):
            skip.add((str(state.channel), state.account))
            self.report.waiting.append(
                f"{state.channel} {state.account}: awaits re-authorisation, not called"
            )
        for account in self.settings.accounts.get(Channel.YOUTUBE, {}):
            if (Channel.YOUTUBE, account) in skip:
                continue
            if units_spent(self.session, quota_key(self.settings, account), self.now) >= (
                self.budget
            ):
                skip.add((Channel.YOUTUBE, account))
                self.report.waiting.append(self._share_spent(account))
        return skip

    def _share_spent(self, account: str) -> str:
        resets = quota_resets_at(self.now)
        return (
            f"youtube {account}: insights' share of the day's quota ({self.budget} units) is "
            f"spent; readings wait for the quota day after {resets:%Y-%m-%d %H:%M} UTC"
        )

    def _usable(self, due: Due) -> bool:
        """Readings that cannot be asked for (an account gone from the settings, a stored id
        no call may carry) are reported, or failed for good, without calling."""
        channel, account = due.key
        if (channel, account) not in self.clients:
            why = f"{channel} {account}: not in the settings ([accounts.{channel}.{account}])"
            if why not in self.report.waiting:
                self.report.waiting.append(why)
            return False
        remote = due.post.remote_id
        if not valid_remote_id(Channel(channel), remote):
            self._load([due])
            self._write(
                due,
                lambda row: self._fail(
                    row, f"the stored remote id {remote!r} is not one the platform gives"
                ),
            )
            self._commit([due])
            return False
        return True

    # --- the calls, one batch ahead --------------------------------------------------------

    def _read_batches(self, usable: list[Due]) -> None:
        """Every account's batches in turn, one call at a time in a fixed order: while a batch
        is stored, the next one's call is already on its way in a worker thread (the database
        work between calls costs no wall time). A run killed midway loses at most the batch
        being stored and the one asked for, which are read again next run; nothing is stored
        for a batch whose answer has not come. Whether to ask for the next batch (a block, a
        dead token, YouTube's share) is decided once this batch's answer is in, as before."""
        size = min(self.cfg.batch, 50)
        batches = [
            (key, group[start : start + size])
            for key, grouped in groupby(sorted(usable, key=lambda d: d.key), key=lambda d: d.key)
            for group in [list(grouped)]
            for start in range(0, len(group), size)
        ]
        queue = iter(batches)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="insights-call") as pool:
            pending = self._ask_next(pool, queue)
            try:
                while pending is not None:
                    key, batch, asked = pending
                    answer = _Answer.of(asked)
                    self._limits(key, answer)
                    pending = self._ask_next(pool, queue)
                    self._answered(key, batch, answer)
            finally:
                if pending is not None:
                    pending[2].cancel()

    def _ask_next(
        self, pool: ThreadPoolExecutor, queue: Iterator[tuple[tuple[str, str], list[Due]]]
    ) -> tuple[tuple[str, str], list[Due], Future[BatchResult]] | None:
        """Start the call of the next batch that may be asked for, skipping the batches of an
        account stopped in this run or whose YouTube share is spent."""
        for key, batch in queue:
            channel, account = Channel(key[0]), key[1]
            if key in self.stopped or self._app_stopped(channel, account):
                continue
            if channel == Channel.YOUTUBE and not self._units_left(account):
                self.stopped.add(key)
                self.report.waiting.append(self._share_spent(account))
                continue
            ids = [d.post.remote_id for d in batch]
            started = threading.Event()
            asked = pool.submit(self._call, channel, account, ids, started)
            # the worker is under way before this thread stores the last batch: otherwise the
            # call starts only when the interpreter next switches threads (up to 5 ms a call)
            started.wait(timeout=1)
            return key, batch, asked
        return None

    def _app_stopped(self, channel: Channel, account: str) -> bool:
        """Another account of the same app or project met an app-wide limit in this run."""
        return app_key(self.settings, channel, account) in self.stopped_apps

    def _units_left(self, account: str) -> bool:
        """Whether the share has room for a call: the units stored, and those of the batch
        answered but not stored yet."""
        key = quota_key(self.settings, account)
        spent = units_spent(self.session, key, self.now)
        return spent + self.unstored_units.get(key, 0) < self.budget

    def _limits(self, key: tuple[str, str], answer: _Answer) -> None:
        """A limit or a dead token the answer met stops the account (stored as a block) before
        the next call is asked for; the units it cost count at once."""
        channel, account = Channel(key[0]), key[1]
        error = answer.error
        if isinstance(error, ChannelBlocked):
            self._blocked(channel, account, error)
            return
        if isinstance(error, ChannelReauthNeeded):  # a dead token: as the publisher does
            self.stopped.add(key)
            self._needs_reauth(channel, account, error)
            return
        if isinstance(error, ConfigError):  # no token set
            self.stopped.add(key)
            self.report.waiting.append(f"{channel} {account}: {error}")
            return
        if error is not None and not isinstance(error, ChannelError):
            raise error
        if isinstance(error, ChannelTransient):
            # still failing after the client's own retries: the platform is unwell, so the
            # account's other batches wait for the next run rather than each spend the retries
            self.stopped.add(key)
            self.report.waiting.append(
                f"{channel} {account}: not called again in this run after a failure that "
                f"passes ({error}); its other readings wait for the next run"
            )
        if answer.result is not None and _all_gone(answer.result):
            self.stopped.add(key)  # the account's other batches would say the same
            self.report.waiting.append(
                f"{channel} {account}: {ALL_GONE}; its other readings wait for the next run"
            )
            _log.warning("insights: %s %s: a whole batch came back gone", channel, account)
        calls = 1 if answer.result is None else answer.result.calls
        if channel == Channel.YOUTUBE:
            self.unstored_units = {quota_key(self.settings, account): calls}
        elif error is None:
            limit = self.clients.graph(channel, account).blocked()
            if limit is not None:  # set from the usage headers: keep to it as the publisher does
                self._blocked(channel, account, limit)

    def _answered(self, key: tuple[str, str], batch: list[Due], answer: _Answer) -> None:
        """Store what the batch's answer says, in one transaction with the units it cost."""
        channel, account = Channel(key[0]), key[1]
        error, result = answer.error, answer.result
        if error is not None and not isinstance(error, ChannelError):
            return
        if isinstance(error, (ChannelBlocked, ChannelReauthNeeded, ConfigError)):
            return
        calls = 1 if result is None else result.calls
        self.report.calls[channel] = self.report.calls.get(channel, 0) + calls
        if channel == Channel.YOUTUBE:
            self._spend(account, calls)
            self.report.youtube_units += calls
        self._load(batch)
        if result is None:
            why = NO_DATA if _no_data_yet(error) else str(error)  # type: ignore[arg-type]
            for due in batch:
                self._write(due, lambda row: self._again(row, why))
        elif _all_gone(result):
            for due in batch:
                self._write(due, lambda row: self._again(row, ALL_GONE))
        else:
            for due in batch:
                remote = due.post.remote_id
                if remote in result.gone:
                    self._write(due, self._gone)
                elif remote in result.figures:
                    figures, notes = result.figures[remote], result.notes.get(remote, [])
                    self._write(
                        due, lambda row, f=figures, n=notes, c=channel: self._read(row, c, f, n)
                    )
                else:
                    why = result.again.get(remote, NO_DATA)
                    self._write(due, lambda row, w=why: self._again(row, w))
        for due in batch:  # stored with the reading: never a later mark read and these lost
            self._write_missed(due)
        self._commit(batch)
        self.unstored_units = {}
        self.done += len(batch)
        _log.info(
            "insights: %s %s: %d of %d readings done", channel, account, self.done, self.total
        )

    def _call(
        self,
        channel: Channel,
        account: str,
        ids: Sequence[str],
        started: threading.Event | None = None,
    ) -> BatchResult:
        if started is not None:
            started.set()
        if channel == Channel.YOUTUBE:
            return read_youtube(self.clients.youtube(account), ids)
        settings = self.clients.account(channel, account)
        node = settings.ig_user_id if channel == Channel.INSTAGRAM else settings.page_id
        return read_graph(self.clients.graph(channel, account), channel, ids, node)

    def _needs_reauth(self, channel: Channel, account: str, error: ChannelReauthNeeded) -> None:
        """Keep the dead token as the publisher keeps it (`AccountState`): neither the reader
        nor the publisher calls the account again until staff re-authorise it."""
        self.session.rollback()
        why = str(error)
        state = self.session.get(AccountState, (channel, account)) or AccountState(
            channel=channel, account=account
        )
        if state.needs_reauth_since is None:  # keep the first refusal and its message
            state.needs_reauth_since, state.message = self.clock(), why
        self.session.add(state)
        self.session.commit()
        self.report.waiting.append(
            f"{channel} {account}: {why}; not called until it is re-authorised "
            f"(`ifn-campaign accounts reauthorised {channel} {account}`)"
        )
        _log.warning(
            "insights: %s %s: the token was refused; awaits re-authorisation", channel, account
        )

    def _blocked(self, channel: Channel, account: str, error: ChannelBlocked) -> None:
        self.session.rollback()
        block = keep_limit(self.session, self.settings, channel, account, error, self.clock())
        self.session.commit()
        self.stopped.add((channel, account))
        if error.scope == APP:
            self.stopped_apps.add(app_key(self.settings, channel, account))
        self.report.waiting.append(
            f"{channel} {account}: stopped until {block.blocked_until:%Y-%m-%d %H:%M} UTC "
            f"({describe(block)})"
        )
        _log.warning("insights: %s %s: %s", channel, account, describe(block))

    def _spend(self, account: str, units: int) -> None:
        """Count YouTube units in the batch's transaction (one upsert, no read-then-write)."""
        row = {"key": quota_key(self.settings, account), "day": quota_day(self.now), "units": units}
        table = QuotaUse.__table__
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(table).values(row)
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.key, table.c.day],
                set_={"units": table.c.units + statement.excluded.units},
            )
        )

    def _commit(self, batch: list[Due]) -> None:
        """Store the batch's readings, their figures and its gone posts in one transaction
        (SQL statements over many rows: a run stores thousands)."""
        try:
            self._store()
            self.session.commit()
        except IntegrityError:  # another run stored one of these meanwhile: it has them
            self.session.rollback()
            del self.report.outcomes[self.outcomes_from :]
            self.report.waiting.append(
                f"a batch of {len(batch)} readings was stored by another run at the same time"
            )

    # --- writing readings --------------------------------------------------------------------

    def _record_missed(self, dues: list[Due]) -> None:
        """The missed marks of readings the run did not store with a batch (not called: an
        account stopped, gone from the settings; or failed for a bad id)."""
        missing = [due for due in dues if due.missed]
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            self._load(chunk)
            for due in chunk:
                self._write_missed(due)
            self._commit(chunk)

    def _write_missed(self, due: Due) -> None:
        """Record the post's earlier marks as missed (`_load` first)."""
        later = f"the {due.mark} reading was due before it was read"
        for mark in due.missed:
            self._write(Due(due.post, mark, due.due_at), lambda row: self._miss(row, later))
        self.missed_done.add(due.post.id)

    def _load(self, dues: Sequence[Due]) -> None:
        """The stored readings of these posts, looked up again now (another run may have
        settled one since the run began), in one query."""
        self.figures = []
        self.gone = []
        self.rows = {}
        self.outcomes_from = len(self.report.outcomes)
        ids = sorted({due.post.id for due in dues})
        table = InsightReading.__table__
        for found in self.session.execute(
            select(*(table.c[name] for name in _Row.COLUMNS)).where(table.c.post_id.in_(ids))
        ):
            row = _Row(**found._asdict())
            self.rows[row.post_id, row.mark] = row

    def _store(self) -> None:
        reading, metric, post = (
            InsightReading.__table__,
            InsightMetric.__table__,
            Post.__table__,
        )
        changed = [r for r in self.rows.values() if r.changed]
        new = [r for r in changed if r.id is None]
        if new:
            made = self.session.execute(
                insert(reading).returning(reading.c.id, reading.c.post_id, reading.c.mark),
                [r.values() for r in new],
            )
            ids = {(m.post_id, m.mark): m.id for m in made}
            for r in new:
                r.id = ids[r.post_id, r.mark]
        old = [r for r in changed if r.id is not None and r not in new]
        if old:
            self.session.execute(
                update(reading).where(reading.c.id == bindparam("row_id")),
                [{"row_id": r.id, **r.values()} for r in old],
            )
        figures = [
            {"reading_id": r.id, "metric": name, "post_id": r.post_id, "value": value}
            for r, values in self.figures
            for name, value in sorted(values.items())
        ]
        if figures:
            self.session.execute(insert(metric), figures)
        if self.gone:
            self.session.execute(
                update(post)
                .where(post.c.id.in_(self.gone), post.c.remote_gone_at.is_(None))
                .values(remote_gone_at=self.clock())
            )
        for r in changed:
            r.changed = False
        self.figures, self.gone = [], []

    def _write(self, due: Due, settle: Callable[[_Row], str]) -> None:
        """Settle the reading (`_load` first), unless another run settled it already."""
        post_id = due.post.id
        row = self.rows.get((post_id, due.mark))
        if row is not None and row.state in FINAL:
            return
        if row is None:
            row = _Row(
                id=None,
                post_id=post_id,
                mark=due.mark,
                due_at=due.post.published_at + mark_after(due.mark),
                state=ReadingState.RETRY,
                attempts=0,
            )
            self.rows[post_id, due.mark] = row
        row.changed = True
        detail = settle(row)
        self.report.outcomes.append(
            Outcome(post_id, str(due.post.channel), due.mark, row.state, detail)
        )

    def _read(
        self, row: _Row, channel: Channel, figures: dict[str, int], notes: Sequence[str] = ()
    ) -> str:
        """Store the figures read; what the answer had that was left out, and a reach below an
        earlier reading's (platforms revise counts: the later figure is theirs now), are kept
        in `last_error` and said in the outcome. Every figure 0 where an earlier reading had a
        reach is taken as a glitch and asked again, not stored over it."""
        reach = figures.get(REACH_METRIC[channel])
        earlier = self._earlier_reach(row)
        notes = list(notes)
        if earlier is not None and earlier[1] > 0:
            mark, before = earlier
            if not any(figures.values()):
                return self._again(
                    row, f"every figure was 0 where the {mark} reading had reach {before:,}"
                )
            if reach is not None and reach < before:
                notes.append(
                    f"reach {reach:,} is below the {mark} reading's {before:,}: "
                    "the platform revised its count"
                )
        at = self.clock()
        row.state, row.read_at, row.next_attempt_at = ReadingState.READ, at, None
        row.last_error = "; ".join(notes) or None
        row.attempts += 1
        row.reach = reach
        self.figures.append((row, figures))  # stored with the batch (`_commit`)
        said = f"reach {reach:,}" if reach is not None else "no reach figure"
        return f"{said} ({row.last_error})" if row.last_error else said

    def _earlier_reach(self, row: _Row) -> tuple[str, int] | None:
        """The mark and reach of the post's latest earlier reading that has one."""
        earlier = [
            r
            for r in self.rows.values()
            if r.post_id == row.post_id
            and r.due_at < row.due_at
            and r.state == ReadingState.READ
            and r.reach is not None
        ]
        if not earlier:
            return None
        latest = max(earlier, key=lambda r: r.due_at)
        return latest.mark, latest.reach or 0

    def _again(self, row: _Row, why: str) -> str:
        row.attempts += 1
        row.last_error = why
        if row.attempts >= self.cfg.max_attempts:
            row.state, row.next_attempt_at = ReadingState.FAILED, None
            return f"given up after {row.attempts} tries: {why}"
        wait = min(
            self.cfg.retry_max_seconds, self.cfg.retry_base_seconds * 2 ** (row.attempts - 1)
        )
        row.state = ReadingState.RETRY
        row.next_attempt_at = self.clock() + timedelta(seconds=wait)
        return f"again after {row.next_attempt_at:%Y-%m-%d %H:%M} UTC: {why}"

    def _fail(self, row: _Row, why: str) -> str:
        row.attempts += 1
        row.state, row.next_attempt_at, row.last_error = ReadingState.FAILED, None, why
        return why

    def _gone(self, row: _Row) -> str:
        row.attempts += 1
        row.state, row.next_attempt_at = ReadingState.GONE, None
        row.last_error = "the post no longer exists on the platform (deleted there)"
        self.gone.append(row.post_id)
        return row.last_error

    def _miss(self, row: _Row, why: str) -> str:
        row.state, row.next_attempt_at, row.last_error = ReadingState.MISSED, None, why
        return why


@dataclass(frozen=True)
class _Answer:
    """A batch's call as it ended: the result, or the error it raised."""

    result: BatchResult | None
    error: BaseException | None

    @classmethod
    def of(cls, asked: Future[BatchResult]) -> _Answer:
        try:
            return cls(asked.result(), None)
        except Exception as error:  # judged by the run (`_limits`), which re-raises the unknown
            return cls(None, error)


def _all_gone(result: BatchResult) -> bool:
    """More than one id asked and every one came back gone: no proof (see `ALL_GONE`)."""
    return len(result.gone) > 1 and not result.figures and not result.again


def _no_data_yet(error: ChannelError) -> bool:
    """Meta's code 10 "Not enough viewers for the media to show insights": too early, not a
    missing permission (the same code), so it says so rather than send staff to reconnect."""
    message = (getattr(error, "message", None) or "").lower()
    return isinstance(error, GraphError) and error.code == 10 and "not enough viewers" in message


def insights_markdown(report: InsightsReport) -> str:
    """The run's summary for the flow's artifact and the CLI."""
    lines = ["# Insights", ""]
    for state in ("read", "retry", "gone", "missed", "failed"):
        lines.append(f"- {state}: {report.count(state)}")
    calls = ", ".join(f"{c} {n}" for c, n in sorted(report.calls.items())) or "none"
    lines.append(f"- platform calls: {calls}; YouTube units: {report.youtube_units}")
    if report.waiting:
        lines += ["", "## Not called", ""]
        lines += [f"- {escape_markdown(why)}" for why in report.waiting]
    problems = [o for o in report.outcomes if o.state in ("retry", "failed", "gone")]
    if problems:
        lines += ["", "## Readings not stored", ""]
        # the platforms' own words: shown as text, never rendered as markup
        lines += [
            f"- post {o.post_id} {escape_markdown(o.mark)} ({o.state}): {escape_markdown(o.detail)}"
            for o in problems
        ]
    return "\n".join(lines) + "\n"


def run_insights(
    res: Resources, *, limit: int | None = None, now: datetime | None = None
) -> InsightsReport:
    """One run on the resources of a flow or a command: the one door both go through."""
    with res.session() as session:
        return read_due(session, res.settings, res.channel_clients(), now or utcnow(), limit=limit)
