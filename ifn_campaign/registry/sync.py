"""Member sync: pages of raw records in, normalised members, media and quarantine out.

Each page is one transaction that also stores the cursor of the next page on the sync run, so a
sync killed at any point is resumed from the last committed page by the next run, and rerunning a
page is harmless (upserts by registry id, quarantine by payload hash). A page stores members and
their media rows; the bytes are fetched after its commit (`ifn_campaign.registry.sync_media`), so
no media
host can hold a page, and rows a killed run left pending are fetched by the next.

One record never fails a page: a record that does not validate, or that raises anything while it
is checked or stored (the database refusing one of its values included), is quarantined with the
reason and the others are stored. Writes run in a savepoint, and per member in savepoints only
when the database refuses the page's batch, so on PostgreSQL one record cannot poison the page's
transaction. Only a failure of the database itself or of the registry fails a page.

A member whose new record withdraws consent (or the whole channel, or who is suspended, deleted
or gone from a full sync) has their queued posts cancelled in the same transaction that stores
that record (`ifn_campaign.posts.withdrawal`), so no kill can leave one without the other."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import (
    Engine,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from ifn_campaign.errors import RegistryResponseError
from ifn_campaign.models import (
    MediaRole,
    Member,
    MemberMedia,
    MemberStatus,
    MemberWithdrawal,
    QuarantinedRecord,
    SyncRun,
    SyncRunStatus,
    SyncState,
    utcnow,
)
from ifn_campaign.posts.withdrawal import (
    CancelledPost,
    InFlightPost,
    Takedown,
    WithdrawalReport,
    cancel_disallowed,
    summary_line,
)
from ifn_campaign.registry import record as record_module
from ifn_campaign.registry.display import visible
from ifn_campaign.registry.media import MediaFetcher
from ifn_campaign.registry.record import (
    VOCABULARY_FILE,
    MemberRecord,
    UtcTime,
    parse_record,
    record_id,
    slug,
)
from ifn_campaign.registry.source import MemberSource, Page
from ifn_campaign.registry.sync_media import (
    NOT_FETCHED_YET,
    PENDING,
    TO_FETCH,
    MediaStage,
    escaped,
)
from ifn_campaign.registry.sync_media import storable as _storable
from ifn_campaign.reports.markdown import escape_markdown as _md

__all__ = ["QuarantineEntry", "SyncResult", "sync_members"]

# Changing the validation code or the vocabulary changes every fingerprint: all records are
# validated again on the next sync.
_RULES = hashlib.sha256(
    Path(record_module.__file__).read_bytes()
    + VOCABULARY_FILE.read_bytes()
    + " ".join(
        version(name) for name in ("pydantic", "phonenumbers", "email-validator", "pycountry")
    ).encode()
).digest()
COUNT_FIELDS = (
    "new",
    "updated",
    "unchanged",
    "quarantined",
    "removed",
    "media_fetched",
    "media_reused",
    "media_refused",
)
_JAKARTA = ZoneInfo("Asia/Jakarta")

_log = logging.getLogger(__name__)
# how often one run starts its pages over when the registry refuses its cursor
CURSOR_RESTARTS = 2


@dataclass(frozen=True)
class QuarantineEntry:
    member_id: str | None
    reasons: list[str]


@dataclass
class SyncResult:
    """What a run did; `run` is the stored row with the counts."""

    run: SyncRun
    quarantined: list[QuarantineEntry] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    media_refusals: list[tuple[str, str, str]] = field(default_factory=list)
    cancelled_posts: list[CancelledPost] = field(default_factory=list)
    takedowns: list[Takedown] = field(default_factory=list)
    in_flight: list[InFlightPost] = field(default_factory=list)

    def add_withdrawals(self, report: WithdrawalReport) -> None:
        self.cancelled_posts += report.cancelled
        self.takedowns += report.takedowns
        self.in_flight += report.in_flight

    def withdrawal_summary(self) -> str:
        """One line on cancelled posts and takedowns; '' when there were none."""
        return summary_line(len(self.cancelled_posts), len(self.takedowns), len(self.in_flight))

    def counts(self) -> dict[str, int]:
        return {name: getattr(self.run, name) for name in COUNT_FIELDS}

    def markdown(self) -> str:
        """A summary for the Prefect UI; member-supplied text is escaped (it is data)."""
        run = self.run
        lines = [
            f"# Member sync {run.id}: {run.status}",
            "",
            f"Source `{_md(run.source)}`, mode {run.mode}, {run.pages} pages.",
            "",
            "| " + " | ".join(COUNT_FIELDS) + " |",
            "|" + "---:|" * len(COUNT_FIELDS),
            "| " + " | ".join(str(v) for v in self.counts().values()) + " |",
        ]
        if self.quarantined:
            lines += ["", "## Quarantined records", "", "| member | reasons |", "|---|---|"]
            lines += [
                f"| {_md(q.member_id or '(no id)')} | {_md('; '.join(q.reasons))} |"
                for q in self.quarantined
            ]
        if self.media_refusals:
            lines += ["", "## Media refused", "", "| member | reason | url |", "|---|---|---|"]
            lines += [  # a refused URL is kept as sent: its CR/LF or ESC are shown as escapes
                f"| {_md(m)} | {_md(r)} | {_md(visible(u[:100]))} |"
                for m, u, r in self.media_refusals
            ]
        if self.withdrawn:
            lines += ["", f"Consent withdrawn by: {_md(', '.join(self.withdrawn))}"]
        if self.cancelled_posts or self.takedowns or self.in_flight:
            lines += ["", "## Posts cancelled and taken down", "", self.withdrawal_summary()]
        if self.cancelled_posts:
            lines += [
                "",
                "| post | member | channel | slot (WIB) | reason |",
                "|---:|---|---|---|---|",
            ]
            lines += [
                f"| {c.post_id} | {_md(c.member_id)} | {c.channel} | {_wib(c.slot_at)} "
                f"| {_md(c.reason)} |"
                for c in self.cancelled_posts
            ]
        if self.in_flight:
            lines += ["", "Being published (the publisher checks consent again):", ""]
            lines += [
                f"- post {p.post_id}, {_md(p.member_id)}, {p.channel}: {_md(p.reason)}"
                for p in self.in_flight
            ]
        if self.takedowns:
            lines += ["", "| take down post | member | channel | account | permalink |"]
            lines += ["|---:|---|---|---|---|"]
            lines += [
                f"| {t.post_id} | {_md(t.member_id)} | {t.channel} | {_md(t.account)} "
                f"| {_md(t.permalink or '(none recorded)')} |"
                for t in self.takedowns
            ]
        return "\n".join(lines) + "\n"


def _wib(moment: datetime) -> str:
    return f"{moment.astimezone(_JAKARTA):%Y-%m-%d %H:%M}"


@dataclass(frozen=True)
class _Wanted:
    role: str
    position: int
    url: str
    alt: str | None


def _wanted_media(record: MemberRecord) -> list[_Wanted]:
    """As stored: a URL holding NUL is kept escaped (`\\u0000`), which the fetcher refuses."""
    wanted = [_Wanted(MediaRole.LOGO, 0, record.logo_url, None)] if record.logo_url else []
    wanted += [_Wanted(MediaRole.PHOTO, i, p.url, p.alt) for i, p in enumerate(record.photos)]
    return [_stored(w) for w in wanted]


def _stored(value: Any) -> Any:
    """`value` with every string that a database refuses (NUL for PostgreSQL, lone surrogates)
    escaped, so a value the validation keeps as sent never costs the member on one database."""
    if isinstance(value, str):
        return value if _storable(value) else escaped(value)
    if isinstance(value, dict):
        return {k: _stored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stored(v) for v in value]
    if isinstance(value, _Wanted):
        return _Wanted(value.role, value.position, _stored(value.url), _stored(value.alt))
    return value


def _fingerprint(raw: Any) -> str:
    """The raw record's hash under the current validation rules: equal means 'validates to what
    we stored', so the no-change re-sync can skip validation (its main cost)."""
    return hashlib.sha256(_RULES + _payload_hash(raw)[1].encode()).hexdigest()


def _payload_hash(raw: Any) -> tuple[str, str]:
    """The payload as stored in the quarantine, and its hash. A lone surrogate (invalid Unicode
    a registry can send as a JSON escape) stays escaped: no database can store it raw."""
    try:
        text = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(raw, sort_keys=True, ensure_ascii=True, default=str)
    except (TypeError, ValueError):
        text = ascii(raw)
    return text, hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


def _start_run(session: Session, source: MemberSource, full: bool | None, resume: bool) -> SyncRun:
    """A new run, continuing an interrupted one of the same source and mode when there is one."""
    now = utcnow()
    state = session.get(SyncState, source.name)
    mark = state.high_water_mark if state else None
    incremental = source.supports_incremental and not full and mark is not None
    mode = "incremental" if incremental else ("full" if source.supports_incremental else "import")
    runs = session.scalars(
        select(SyncRun).where(SyncRun.source == source.name).order_by(SyncRun.id.desc()).limit(20)
    ).all()
    for run in runs:
        # Its process is gone: one sync per source at a time (a Prefect concurrency limit in
        # production; see docs/reference/flows.md).
        if run.status == SyncRunStatus.RUNNING:
            run.status = SyncRunStatus.INTERRUPTED
            run.finished_at = now
    latest = runs[0] if runs else None
    previous = None
    if (
        resume
        and latest is not None
        and latest.status != SyncRunStatus.COMPLETED
        and (latest.cursor is not None or latest.pages > 0)
        and (full is None or latest.mode == mode)
    ):
        previous = latest
    if previous is not None:
        run = SyncRun(
            source=source.name,
            mode=previous.mode,
            started_at=now,
            baseline_at=previous.baseline_at,
            since=previous.since,
            cursor=previous.cursor,
            pages=previous.pages,
            high_water_mark=previous.high_water_mark,
            resumed_from=previous.id,
        )
    else:
        run = SyncRun(
            source=source.name,
            mode=mode,
            started_at=now,
            baseline_at=now,
            since=mark if incremental else None,
        )
    session.add(run)
    session.commit()
    session.refresh(run)
    return run


class _PageWriter:
    """Applies one page inside one transaction: members and their media rows, never media bytes
    (`MediaStage` fetches those after the commit). One record that cannot be stored is
    quarantined with the reason and the rest of the page goes on; only a database or network
    failure fails the page."""

    def __init__(self, session: Session, run: SyncRun, source: str) -> None:
        self.session = session
        self.run = run
        self.source = source

    def apply(self, page: Page, result: SyncResult) -> list[str]:
        """Write the page; returns the ids of its members whose media rows may need a fetch."""
        now = utcnow()
        ids = [record_id(raw) for raw in page.records]
        existing = {
            row.id: row
            for row in self.session.execute(
                select(
                    Member.id,
                    Member.source,
                    Member.content_hash,
                    Member.raw_hash,
                    Member.status,
                    Member.consent_withdrawn_at,
                    Member.updated_at,
                ).where(Member.id.in_([i for i in ids if i and _storable(i)]))
            )
        }
        bare = self._without_media_rows(list(existing))
        valid: dict[str, _Valid] = {}
        same: dict[str, datetime] = {}  # byte-identical to what we stored: no need to validate
        present: list[str] = []  # ids still in the registry, even if this version is quarantined
        invalid: dict[str, Any] = {}  # stored members whose new version is quarantined
        for raw, member_id in zip(page.records, ids, strict=True):
            if member_id:  # a later copy of an id in the same page replaces an earlier one
                valid.pop(member_id, None)
                same.pop(member_id, None)
                invalid.pop(member_id, None)
            try:
                outcome = self._check(raw, member_id, existing, bare)
            except Exception as exc:  # one record's failure is that record's
                outcome = [_unstorable(exc)]
            if isinstance(outcome, datetime):
                same[member_id or ""] = outcome
            elif isinstance(outcome, _Valid):
                valid[outcome.record.id] = outcome
            else:
                self._quarantine(raw, outcome, now, result)
                if member_id is not None:
                    present.append(member_id)
                    if member_id in existing:
                        invalid[member_id] = raw
        media_rows = self._media_rows(list(valid))
        for member_id, exc in self._write(valid, existing, media_rows, now, result).items():
            self._quarantine(valid.pop(member_id).raw, [_unstorable(exc)], now, result)
            present.append(member_id)
        changed = [v for v in valid.values() if v.changed]
        # in this page's transaction: a withdrawal is never stored without its cancellations
        withdrawing = self._withdraw_quarantined(invalid, existing, now, result)
        result.add_withdrawals(
            cancel_disallowed(
                self.session,
                [v.record.id for v in changed if v.record.id in existing] + withdrawing,
                now,
            )
        )
        self._refresh(valid, existing)
        good = list(valid) + list(same)
        self._touch(good + present, now)
        if good:  # the registry sends a good version again: earlier bad ones are resolved
            self.session.execute(
                update(QuarantinedRecord)
                .where(
                    QuarantinedRecord.member_id.in_(good),
                    QuarantinedRecord.source == self.source,
                    QuarantinedRecord.resolved_at.is_(None),
                )
                .values(resolved_at=now)
            )
        self.run.unchanged += len(same) + len(valid) - len(changed)
        marks = [v.record.updated_at for v in valid.values()] + list(same.values())
        if marks:
            # never past the run's start: a record dated in the future must not make every
            # later incremental sync skip the changes made before that date
            top = min(max(marks), self.run.baseline_at)
            if self.run.high_water_mark is None or top > self.run.high_water_mark:
                self.run.high_water_mark = top
        self.run.cursor = page.next_cursor
        self.run.pages += 1
        return list(valid)

    def _check(
        self, raw: Any, member_id: str | None, existing: dict[str, Any], bare: set[str]
    ) -> datetime | _Valid | list[str]:
        """Validate one record, before anything is written: the stored `updated_at` when it is
        byte-identical to what we hold, the values to write, or the reasons it is unusable."""
        fingerprint = _fingerprint(raw)
        old = existing.get(member_id) if member_id else None
        if (
            old is not None
            and old.raw_hash == fingerprint
            and old.source == self.source
            and old.status != MemberStatus.MISSING
            and old.id not in bare
        ):
            return old.updated_at  # type: ignore[no-any-return]
        parsed = parse_record(raw)
        if not isinstance(parsed, MemberRecord):
            return parsed
        content_hash = parsed.content_hash()
        changed = (
            old is None or old.content_hash != content_hash or old.status == MemberStatus.MISSING
        )
        values = _stored(parsed.profile()) | {"content_hash": content_hash} if changed else {}
        return _Valid(parsed, raw, fingerprint, changed, values)

    def _write(
        self,
        valid: dict[str, _Valid],
        existing: dict[str, Any],
        media_rows: dict[str, dict[tuple[str, int], MemberMedia]],
        now: datetime,
        result: SyncResult,
    ) -> dict[str, Exception]:
        """Members and media rows of the page in one savepoint; if the database refuses a
        value, each member in its own savepoint so only the ones it refuses are left out.
        Returns those, with why."""
        _begin(self.session)
        try:
            with self.session.begin_nested():
                self._write_members(list(valid.values()), existing, now, result)
                self._write_media_rows(list(valid.values()), media_rows, now)
            return {}
        except Exception as exc:
            _reraise_if_database_down(exc)
        failed: dict[str, Exception] = {}
        for member_id, one in valid.items():
            try:
                with self.session.begin_nested():
                    self._write_members([one], existing, now, result)
                    self._write_media_rows([one], media_rows, now)
            except Exception as exc:
                _reraise_if_database_down(exc)
                failed[member_id] = exc
        return failed

    def _executemany(self, statement: Any, rows: list[dict[str, Any]]) -> None:
        """Core executemany on the session's connection: one round of statements, no ORM cost."""
        self.session.flush()
        self.session.connection().execute(statement, rows)

    def _write_rows(
        self,
        table: Any,
        inserts: list[dict[str, Any]],
        updates: list[dict[str, Any]],
        deletes: list[dict[str, Any]] | None = None,
    ) -> None:
        """A page's rows of one table in one executemany each; updates and deletes name their
        row by `b_id` (a bind name no column has), and every update sets the same columns."""
        if inserts:
            self._executemany(insert(table), inserts)
        if updates:
            columns = {k: bindparam(k) for k in updates[0] if k != "b_id"}
            self._executemany(
                update(table).where(table.c.id == bindparam("b_id")).values(columns), updates
            )
        if deletes:
            self._executemany(delete(table).where(table.c.id == bindparam("b_id")), deletes)

    def _without_media_rows(self, ids: list[str]) -> set[str]:
        """Stored members with media in their profile but no media rows (synced by a version
        that kept none): their unchanged records are written again to get them."""
        if not ids:
            return set()
        with_rows = set(
            self.session.scalars(
                select(MemberMedia.member_id).where(MemberMedia.member_id.in_(ids)).distinct()
            )
        )
        bare = [i for i in ids if i not in with_rows]
        if not bare:
            return set()
        return {
            row.id
            for row in self.session.execute(
                select(Member.id, Member.logo_url, Member.photos).where(Member.id.in_(bare))
            )
            if row.logo_url or row.photos
        }

    def _quarantine(self, raw: Any, reasons: list[str], now: datetime, result: SyncResult) -> None:
        text, digest = _payload_hash(raw)
        text = text if _storable(text) else _ascii_json(raw)
        member_id = record_id(raw)
        reasons = [r if _storable(r) else escaped(r) for r in reasons]
        result.quarantined.append(QuarantineEntry(member_id, reasons))
        self.run.quarantined += 1
        stored_id = member_id if member_id is None or _storable(member_id) else None
        row = self.session.scalars(
            select(QuarantinedRecord).where(
                QuarantinedRecord.source == self.source, QuarantinedRecord.payload_hash == digest
            )
        ).first()
        if row is None:
            self.session.add(
                QuarantinedRecord(
                    source=self.source,
                    member_id=stored_id,
                    payload=text,
                    payload_hash=digest,
                    reasons=reasons,
                    sync_run_id=self.run.id,
                    first_seen_at=now,
                    last_seen_at=now,
                )
            )
        else:
            row.last_seen_at = now
            row.sync_run_id = self.run.id
            row.resolved_at = None
            row.reasons = reasons

    def _write_members(
        self, records: list[_Valid], existing: dict[str, Any], now: datetime, result: SyncResult
    ) -> None:
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        new = updated = removed = 0
        withdrawn: list[str] = []
        for one in records:
            if not one.changed:
                continue
            record = one.record
            values = one.values | {
                "source": self.source,
                "status": record.status,
                "updated_at": record.updated_at,
                "raw_hash": one.fingerprint,
                "last_seen_at": now,
                "last_changed_at": now,
            }
            old = existing.get(record.id)
            if old is None:
                inserts.append(values | {"first_seen_at": now})
                new += 1
                if record.consent.withdrawn_at is not None:
                    withdrawn.append(record.id)
                continue
            updates.append(values | {"b_id": record.id})
            if old.status == MemberStatus.ACTIVE and record.status != MemberStatus.ACTIVE:
                removed += 1
            else:
                updated += 1
            if old.consent_withdrawn_at is None and record.consent.withdrawn_at is not None:
                withdrawn.append(record.id)
        self._write_rows(Member.__table__, inserts, updates)
        self._hold_withdrawals([row["b_id"] for row in updates])
        # counted once written: a failed savepoint leaves the counts as they were
        self.run.new += new
        self.run.updated += updated
        self.run.removed += removed
        result.withdrawn += withdrawn

    def _hold_withdrawals(self, ids: list[str]) -> None:
        """A member who withdrew consent outside the registry (on their page) stays withdrawn
        when the registry still says "granted", until it records consent granted after that
        withdrawal (`ifn_campaign.members.withdrawal`): one statement over the members just
        written, in their savepoint. It reads the withdrawals as they are when it runs, after
        the members' rows are written (and locked), so a withdrawal committed while this page
        waited for that lock is kept too, on SQLite and PostgreSQL alike."""
        if not ids:
            return
        member = Member.__table__
        holding = and_(
            MemberWithdrawal.member_id == member.c.id,
            or_(
                member.c.consent_granted_at.is_(None),
                MemberWithdrawal.at >= member.c.consent_granted_at,
            ),
        )
        latest = select(func.max(MemberWithdrawal.at)).where(holding).scalar_subquery()
        self.session.execute(
            update(member)
            .where(
                member.c.id.in_(ids),
                member.c.consent_withdrawn_at.is_(None),
                exists().where(holding),
            )
            .values(consent_withdrawn_at=latest)
        )

    def _refresh(self, valid: dict[str, _Valid], existing: dict[str, Any]) -> None:
        """Same profile, new bytes or a new source: remember them, rewrite nothing."""
        refreshed = [
            {
                "b_id": member_id,
                "raw_hash": one.fingerprint,
                "updated_at": one.record.updated_at,
                "source": self.source,
            }
            for member_id, one in valid.items()
            if member_id in existing
            and not one.changed
            and (
                existing[member_id].raw_hash != one.fingerprint
                or existing[member_id].source != self.source
            )
        ]
        if refreshed:
            self._executemany(
                update(Member.__table__)
                .where(Member.__table__.c.id == bindparam("b_id"))
                .values(
                    raw_hash=bindparam("raw_hash"),
                    updated_at=bindparam("updated_at"),
                    source=bindparam("source"),
                ),
                refreshed,
            )

    def _withdraw_quarantined(
        self, invalid: dict[str, Any], existing: dict[str, Any], now: datetime, result: SyncResult
    ) -> list[str]:
        """Consent first: a quarantined version of a stored member that withdraws consent (a
        parseable `consent.withdrawn_at`) or says the member is suspended or deleted is applied
        for just that, so their queued posts are cancelled in this page's transaction like a
        valid record's. Nothing else of an invalid record is ever stored. The stored hashes are
        cleared so the member's next valid version is validated and written in full. Returns
        the ids whose record changed."""
        withdrawals: list[dict[str, Any]] = []
        statuses: list[dict[str, Any]] = []
        for member_id, raw in invalid.items():
            old = existing[member_id]
            withdrawn_at = _raw_withdrawn_at(raw)
            if withdrawn_at is not None and old.consent_withdrawn_at is None:
                withdrawals.append({"b_id": member_id, "withdrawn_at": withdrawn_at})
                result.withdrawn.append(member_id)
            status = _raw_inactive_status(raw)
            if status is not None and old.status not in (status, MemberStatus.DELETED):
                statuses.append({"b_id": member_id, "status": status})
                if old.status == MemberStatus.ACTIVE:
                    self.run.removed += 1
        table = Member.__table__
        where = table.c.id == bindparam("b_id")
        forget = {"content_hash": "", "raw_hash": "", "last_changed_at": now}
        if withdrawals:
            values = {"consent_withdrawn_at": bindparam("withdrawn_at"), **forget}
            self._executemany(update(table).where(where).values(values), withdrawals)
        if statuses:
            values = {"status": bindparam("status"), **forget}
            self._executemany(update(table).where(where).values(values), statuses)
        return list(dict.fromkeys(row["b_id"] for row in withdrawals + statuses))

    def _touch(self, ids: list[str], now: datetime) -> None:
        if ids:
            self.session.execute(update(Member).where(Member.id.in_(ids)).values(last_seen_at=now))

    def _media_rows(self, ids: list[str]) -> dict[str, dict[tuple[str, int], Any]]:
        rows: dict[str, dict[tuple[str, int], Any]] = {}
        if not ids:
            return rows
        table = MemberMedia.__table__
        for row in self.session.execute(select(table).where(table.c.member_id.in_(ids))):
            rows.setdefault(row.member_id, {})[(row.role, row.position)] = row
        return rows

    def _write_media_rows(
        self,
        records: list[_Valid],
        media_rows: dict[str, dict[tuple[str, int], Any]],
        now: datetime,
    ) -> None:
        """Each wanted picture gets a row; a new or changed one (or any of a changed member,
        to be checked again with its ETag) is marked pending for the media stage. A picture
        at a new URL drops the old bytes: they are no longer the member's."""
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        deletes: list[dict[str, Any]] = []
        for one in records:
            rows = media_rows.get(one.record.id, {})
            wanted = _wanted_media(one.record)
            for w in wanted:
                row = rows.get((w.role, w.position))
                pending = {"refused_reason": PENDING, "refused_detail": NOT_FETCHED_YET}
                if row is None:
                    inserts.append(
                        {
                            "member_id": one.record.id,
                            "role": w.role,
                            "position": w.position,
                            "source_url": w.url,
                            "alt": w.alt,
                            "checked_at": now,
                            **pending,
                        }
                    )
                elif row.source_url != w.url:
                    updates.append(
                        {"b_id": row.id, "source_url": w.url, "alt": w.alt, "asset_sha256": None}
                        | {"etag": None, "checked_at": now, **pending}
                    )
                elif one.changed:  # checked again (ETag), unless refused for good
                    again = row.refused_reason is None or row.refused_reason in TO_FETCH
                    kept = {"refused_reason": row.refused_reason}
                    kept["refused_detail"] = row.refused_detail
                    updates.append(
                        {"b_id": row.id, "source_url": w.url, "alt": w.alt}
                        | {"asset_sha256": row.asset_sha256, "etag": row.etag, "checked_at": now}
                        | (pending if again else kept)
                    )
            keys = {(w.role, w.position) for w in wanted}
            deletes += [{"b_id": row.id} for key, row in rows.items() if key not in keys]
        self._write_rows(MemberMedia.__table__, inserts, updates, deletes)


@dataclass(frozen=True)
class _Valid:
    """A record that validated, with what is needed to write it."""

    record: MemberRecord
    raw: Any
    fingerprint: str
    changed: bool
    values: dict[str, Any]  # the profile and its hash, when changed


def _unstorable(exc: BaseException) -> str:
    text = f"could not be stored: {type(exc).__name__}: {exc}"
    return text[:300]


def _begin(session: Session) -> None:
    """Make sure the page's transaction has begun before a savepoint. pysqlite begins one only
    at the first write, so a SAVEPOINT before it would be the outermost, and its RELEASE would
    commit the members without the rest of the page (withdrawals, cursor)."""
    dbapi = session.connection().connection.dbapi_connection
    if getattr(dbapi, "in_transaction", True) is False:
        session.connection().exec_driver_sql("BEGIN")


def _reraise_if_database_down(exc: Exception) -> None:
    """A lost connection, a locked or full database fails the page (it is retried as a whole by
    the next run); anything else the database refuses is the record's own problem."""
    if isinstance(exc, OperationalError | InterfaceError) or getattr(
        exc, "connection_invalidated", False
    ):
        raise exc


def _ascii_json(raw: Any) -> str:
    """The payload with every non-ASCII character escaped: lone surrogates and NUL included."""
    try:
        return json.dumps(raw, sort_keys=True, ensure_ascii=True, default=str)
    except (TypeError, ValueError, RecursionError):
        return escaped(repr(raw))


_RAW_TIME: TypeAdapter[datetime] = TypeAdapter(UtcTime)


def _raw_withdrawn_at(raw: Any) -> datetime | None:
    """`consent.withdrawn_at` of a raw (possibly invalid) record, if it is a usable time."""
    consent = raw.get("consent") if isinstance(raw, dict) else None
    value = consent.get("withdrawn_at") if isinstance(consent, dict) else None
    if value is None:
        return None
    try:
        return _RAW_TIME.validate_python(value)
    except (ValidationError, ValueError, TypeError, OverflowError):
        return None


def _raw_inactive_status(raw: Any) -> str | None:
    """`suspended` or `deleted` when a raw (possibly invalid) record says so, else None."""
    value = raw.get("status") if isinstance(raw, dict) else None
    if not isinstance(value, str):
        return None
    try:
        status = slug(value)
    except (ValueError, TypeError):
        return None
    return status if status in (MemberStatus.SUSPENDED, MemberStatus.DELETED) else None


def _finish(session: Session, run: SyncRun, source: MemberSource, result: SyncResult) -> None:
    now = utcnow()
    if run.mode == "full":
        vanished = (
            Member.source == source.name,
            Member.status != MemberStatus.MISSING,
            Member.last_seen_at < run.baseline_at,
        )
        gone = list(session.scalars(select(Member.id).where(*vanished)))
        # count only members who were promotable until now; a deleted one that also vanishes
        # was counted when it was deleted
        active = session.execute(
            update(Member)
            .where(*vanished, Member.status == MemberStatus.ACTIVE)
            .values(status=MemberStatus.MISSING, last_changed_at=now)
        )
        run.removed += active.rowcount or 0
        session.execute(
            update(Member).where(*vanished).values(status=MemberStatus.MISSING, last_changed_at=now)
        )
        result.add_withdrawals(cancel_disallowed(session, gone, now))
    if source.supports_incremental:
        state = session.get(SyncState, source.name) or SyncState(source=source.name)
        if run.mode == "full":  # a full run knows the whole registry: its mark is the mark
            state.high_water_mark = run.high_water_mark or state.high_water_mark
            state.last_full_sync_at = run.baseline_at
        elif run.high_water_mark and (
            state.high_water_mark is None or run.high_water_mark > state.high_water_mark
        ):
            state.high_water_mark = run.high_water_mark
        session.add(state)
    run.status = SyncRunStatus.COMPLETED
    run.finished_at = now
    session.commit()


def sync_members(
    engine: Engine,
    source: MemberSource,
    fetcher: MediaFetcher | None,
    *,
    full: bool | None = None,
    resume: bool = True,
    media_workers: int = 8,
    progress: Callable[[SyncRun, int], None] | None = None,
) -> SyncResult:
    """Sync every page of `source` into the database; see the module docstring for guarantees.

    `full=None` lets the state decide (incremental once a high-water mark exists); `progress` is
    called after each committed page with the run and the number of records on that page.
    """
    with Session(engine, expire_on_commit=False) as session:
        run = _start_run(session, source, full, resume)
        result = SyncResult(run=run)
        writer = _PageWriter(session, run, source.name)
        media = MediaStage(session, run, source.name, fetcher, media_workers, result.media_refusals)
        try:
            # when every page was stored before an interruption, only the ending is left
            if not (run.resumed_from and run.cursor is None and run.pages > 0):
                _sync_pages(session, source, run, writer, media, result, progress)
            media.finish()
            _finish(session, run, source, result)
        except BaseException as exc:
            media.close()
            session.rollback()
            interrupted = isinstance(exc, KeyboardInterrupt)
            run.status = SyncRunStatus.INTERRUPTED if interrupted else SyncRunStatus.FAILED
            run.finished_at = utcnow()
            if not interrupted:
                run.errors = [*run.errors, f"{type(exc).__name__}: {exc}"[:500]]
            session.add(run)
            session.commit()
            raise
        media.close()
        return result


def _sync_pages(
    session: Session,
    source: MemberSource,
    run: SyncRun,
    writer: _PageWriter,
    media: MediaStage,
    result: SyncResult,
    progress: Callable[[SyncRun, int], None] | None,
) -> None:
    """Every page in its own transaction; each page's media are handed to the media stage once
    the page is committed. A cursor the registry refuses (HTTP 400: it expired, or the registry
    rotated its keys), the saved one of a resumed run or one met mid-run, starts the pages over
    from the first, at most `CURSOR_RESTARTS` times a run: storing a page again is harmless."""
    restarts = 0
    written_here = False
    while True:
        try:
            for page in source.pages(since=run.since, cursor=run.cursor):
                member_ids = writer.apply(page, result)
                session.commit()
                written_here = True
                if progress:
                    progress(run, len(page.records))
                media.submit(member_ids)
            return
        except RegistryResponseError as exc:
            if exc.status != 400 or run.cursor is None or restarts >= CURSOR_RESTARTS:
                raise
            restarts += 1
            _log.warning("the registry refused the cursor (%s): the sync starts over", exc)
            run.cursor = None
            if not written_here:  # a resumed run: its pages count from this start
                run.pages = 0
