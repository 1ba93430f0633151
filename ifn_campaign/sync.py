"""Member sync: pages of raw records in, normalised members, media and quarantine out.

Each page is one transaction that also stores the cursor of the next page on the sync run, so a
sync killed at any point is resumed from the last committed page by the next run, and rerunning a
page is harmless (upserts by registry id, quarantine by payload hash). Media are fetched before
the page's transaction (in parallel) and the files are content-addressed, so an interrupted page
leaves at worst an unreferenced file that the next run reuses.

A member whose new record withdraws consent (or the whole channel, or who is suspended, deleted
or gone from a full sync) has their queued posts cancelled in the same transaction that stores
that record (`ifn_campaign.withdrawal`), so no kill can leave one without the other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Engine, bindparam, insert, select, update
from sqlalchemy.orm import Session

from ifn_campaign.errors import MediaRefused, RegistryResponseError
from ifn_campaign.markdown import escape_markdown as _md
from ifn_campaign.media import FetchedMedia, MediaFetcher, NotModified
from ifn_campaign.models import (
    MediaAsset,
    MediaRole,
    Member,
    MemberMedia,
    MemberStatus,
    QuarantinedRecord,
    SyncRun,
    SyncRunStatus,
    SyncState,
    utcnow,
)
from ifn_campaign.registry import record as record_module
from ifn_campaign.registry.record import (
    VOCABULARY_FILE,
    MemberRecord,
    UtcTime,
    parse_record,
    record_id,
    slug,
)
from ifn_campaign.registry.source import MemberSource, Page
from ifn_campaign.withdrawal import (
    CancelledPost,
    InFlightPost,
    Takedown,
    WithdrawalReport,
    cancel_disallowed,
    summary_line,
)

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
# Refusals worth trying again on the next sync even when the profile did not change.
TRANSIENT_MEDIA_REASONS = frozenset({"timeout", "unreachable", "http_status", "truncated"})
_JAKARTA = ZoneInfo("Asia/Jakarta")


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
            lines += [f"| {_md(m)} | {r} | {_md(u[:100])} |" for m, u, r in self.media_refusals]
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
    wanted = [_Wanted(MediaRole.LOGO, 0, record.logo_url, None)] if record.logo_url else []
    wanted += [_Wanted(MediaRole.PHOTO, i, p.url, p.alt) for i, p in enumerate(record.photos)]
    return wanted


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
        # production; see the README).
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
    """Applies one page inside one transaction."""

    def __init__(
        self,
        session: Session,
        run: SyncRun,
        source: str,
        fetcher: MediaFetcher | None,
        workers: int,
    ) -> None:
        self.session = session
        self.run = run
        self.source = source
        self.fetcher = fetcher
        self.workers = workers

    def apply(self, page: Page, result: SyncResult) -> None:
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
                ).where(Member.id.in_([i for i in ids if i]))
            )
        }
        attention = self._media_attention(list(existing))
        valid: dict[str, MemberRecord] = {}
        same: dict[str, datetime] = {}  # byte-identical to what we stored: no need to validate
        raw_hash: dict[str, str] = {}  # of the copy that won, when an id repeats in a page
        present: list[str] = []  # ids still in the registry, even if this version is quarantined
        invalid: dict[str, Any] = {}  # stored members whose new version is quarantined
        for raw, member_id in zip(page.records, ids, strict=True):
            fingerprint = _fingerprint(raw)
            old = existing.get(member_id) if member_id else None
            if member_id:  # a later copy of an id in the same page replaces an earlier one
                valid.pop(member_id, None)
                same.pop(member_id, None)
                invalid.pop(member_id, None)
            if (
                old is not None
                and old.raw_hash == fingerprint
                and old.source == self.source
                and old.status != MemberStatus.MISSING
                and member_id not in attention
            ):
                same[old.id] = old.updated_at
                continue
            parsed = parse_record(raw)
            if isinstance(parsed, MemberRecord):
                valid[parsed.id] = parsed
                raw_hash[parsed.id] = fingerprint
            else:
                self._quarantine(raw, parsed, now, result)
                if member_id is not None:
                    present.append(member_id)
                    if member_id in existing:
                        invalid[member_id] = raw
        changed = [
            r
            for r in valid.values()
            if r.id not in existing
            or existing[r.id].content_hash != r.content_hash()
            or existing[r.id].status == MemberStatus.MISSING
        ]
        media_rows = self._media_rows(list(valid))
        refetch = self._needing_media(valid, changed, media_rows)
        fetched = self._fetch_all(refetch, media_rows)
        self._write_members(changed, existing, raw_hash, now, result)
        # in this page's transaction: a withdrawal is never stored without its cancellations
        withdrawing = self._withdraw_quarantined(invalid, existing, now, result)
        result.add_withdrawals(
            cancel_disallowed(
                self.session, [r.id for r in changed if r.id in existing] + withdrawing, now
            )
        )
        refreshed = [
            {
                "b_id": r.id,
                "raw_hash": raw_hash[r.id],
                "updated_at": r.updated_at,
                "source": self.source,
            }
            for r in valid.values()
            if r.id in existing
            and r not in changed
            and (existing[r.id].raw_hash != raw_hash[r.id] or existing[r.id].source != self.source)
        ]
        if refreshed:  # same profile, new bytes or a new source: remember them, rewrite nothing
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
        shas = {
            o.sha256 for outs in fetched.values() for _, o in outs if isinstance(o, FetchedMedia)
        }
        known = set(
            self.session.scalars(select(MediaAsset.sha256).where(MediaAsset.sha256.in_(shas)))
        )
        for member_id, outcomes in fetched.items():
            rows = media_rows.get(member_id, {})
            self._store_media(member_id, outcomes, rows, known, now, result)
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
        marks = [r.updated_at for r in valid.values()] + list(same.values())
        if marks:
            # never past the run's start: a record dated in the future must not make every
            # later incremental sync skip the changes made before that date
            top = min(max(marks), self.run.baseline_at)
            if self.run.high_water_mark is None or top > self.run.high_water_mark:
                self.run.high_water_mark = top
        self.run.cursor = page.next_cursor
        self.run.pages += 1

    def _executemany(self, statement: Any, rows: list[dict[str, Any]]) -> None:
        """Core executemany on the session's connection: one round of statements, no ORM cost."""
        self.session.flush()
        self.session.connection().execute(statement, rows)

    def _media_attention(self, ids: list[str]) -> set[str]:
        """Stored members whose media must be looked at again even if their record is unchanged:
        a transient refusal last time (retry it), or no media rows at all (synced without media)."""
        if not ids or self.fetcher is None:
            return set()
        with_rows: set[str] = set()
        retry: set[str] = set()
        for member_id, reason in self.session.execute(
            select(MemberMedia.member_id, MemberMedia.refused_reason).where(
                MemberMedia.member_id.in_(ids)
            )
        ):
            with_rows.add(member_id)
            if reason in TRANSIENT_MEDIA_REASONS:
                retry.add(member_id)
        bare = [i for i in ids if i not in with_rows]
        without = (
            {
                row.id
                for row in self.session.execute(
                    select(Member.id, Member.logo_url, Member.photos).where(Member.id.in_(bare))
                )
                if row.logo_url or row.photos
            }
            if bare
            else set()
        )
        return retry | without

    def _quarantine(self, raw: Any, reasons: list[str], now: datetime, result: SyncResult) -> None:
        text, digest = _payload_hash(raw)
        member_id = record_id(raw)
        result.quarantined.append(QuarantineEntry(member_id, reasons))
        self.run.quarantined += 1
        row = self.session.scalars(
            select(QuarantinedRecord).where(
                QuarantinedRecord.source == self.source, QuarantinedRecord.payload_hash == digest
            )
        ).first()
        if row is None:
            self.session.add(
                QuarantinedRecord(
                    source=self.source,
                    member_id=member_id,
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

    def _write_members(
        self,
        changed: list[MemberRecord],
        existing: dict[str, Any],
        raw_hash: dict[str, str],
        now: datetime,
        result: SyncResult,
    ) -> None:
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for record in changed:
            values = record.profile() | {
                "source": self.source,
                "status": record.status,
                "updated_at": record.updated_at,
                "content_hash": record.content_hash(),
                "raw_hash": raw_hash[record.id],
                "last_seen_at": now,
                "last_changed_at": now,
            }
            old = existing.get(record.id)
            if old is None:
                inserts.append(values | {"first_seen_at": now})
                self.run.new += 1
                if record.consent.withdrawn_at is not None:
                    result.withdrawn.append(record.id)
                continue
            updates.append(values | {"b_id": record.id})
            if old.status == MemberStatus.ACTIVE and record.status != MemberStatus.ACTIVE:
                self.run.removed += 1
            else:
                self.run.updated += 1
            if old.consent_withdrawn_at is None and record.consent.withdrawn_at is not None:
                result.withdrawn.append(record.id)
        table = Member.__table__
        if inserts:
            self._executemany(insert(table), inserts)
        if updates:
            columns = {k: bindparam(k) for k in updates[0] if k != "b_id"}
            self._executemany(
                update(table).where(table.c.id == bindparam("b_id")).values(columns), updates
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

    def _media_rows(self, ids: list[str]) -> dict[str, dict[tuple[str, int], MemberMedia]]:
        rows: dict[str, dict[tuple[str, int], MemberMedia]] = {}
        if not ids:
            return rows
        for row in self.session.scalars(select(MemberMedia).where(MemberMedia.member_id.in_(ids))):
            rows.setdefault(row.member_id, {})[(row.role, row.position)] = row
        return rows

    def _needing_media(
        self,
        valid: dict[str, MemberRecord],
        changed: list[MemberRecord],
        media_rows: dict[str, dict[tuple[str, int], MemberMedia]],
    ) -> dict[str, list[_Wanted]]:
        """Members whose media must be (re)checked: changed ones, and ones with missing or
        transiently refused media (so a timeout last night is retried tonight)."""
        need: dict[str, list[_Wanted]] = {}
        changed_ids = {r.id for r in changed}
        for member_id, record in valid.items():
            wanted = _wanted_media(record)
            rows = media_rows.get(member_id, {})
            stale = {(w.role, w.position) for w in wanted} != set(rows) or any(
                rows[(w.role, w.position)].source_url != w.url
                or rows[(w.role, w.position)].refused_reason in TRANSIENT_MEDIA_REASONS
                for w in wanted
                if (w.role, w.position) in rows
            )
            if member_id in changed_ids or stale:
                need[member_id] = wanted
        return need

    def _fetch_all(
        self,
        need: dict[str, list[_Wanted]],
        media_rows: dict[str, dict[tuple[str, int], MemberMedia]],
    ) -> dict[str, list[tuple[_Wanted, FetchedMedia | NotModified | MediaRefused | None]]]:
        """Fetch in parallel; None as outcome means media fetching is switched off."""
        jobs: list[tuple[str, _Wanted, str | None]] = []
        for member_id, wanted in need.items():
            rows = media_rows.get(member_id, {})
            for w in wanted:
                old = rows.get((w.role, w.position))
                reuse = old is not None and old.source_url == w.url and old.asset_sha256 is not None
                jobs.append((member_id, w, old.etag if reuse and old else None))
        results: dict[str, list[tuple[_Wanted, Any]]] = {m: [] for m in need}
        if self.fetcher is None:
            for member_id, w, _ in jobs:
                results[member_id].append((w, None))
            return results
        fetcher = self.fetcher

        def one(job: tuple[str, _Wanted, str | None]) -> Any:
            try:
                return fetcher.fetch(job[1].url, etag=job[2])
            except MediaRefused as exc:
                return exc

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for (member_id, w, _), outcome in zip(jobs, pool.map(one, jobs), strict=True):
                results[member_id].append((w, outcome))
        return results

    def _store_media(
        self,
        member_id: str,
        outcomes: list[tuple[_Wanted, Any]],
        rows: dict[tuple[str, int], MemberMedia],
        known: set[str],
        now: datetime,
        result: SyncResult,
    ) -> None:
        """Record each outcome; `known` holds the asset hashes already stored (grows here)."""
        kept = set()
        for w, outcome in outcomes:
            key = (w.role, w.position)
            kept.add(key)
            row = rows.get(key)
            if row is None:
                row = MemberMedia(
                    member_id=member_id,
                    role=w.role,
                    position=w.position,
                    source_url=w.url,
                    checked_at=now,
                )
                self.session.add(row)
            row.source_url, row.alt, row.checked_at = w.url, w.alt, now
            if outcome is None:
                continue
            if isinstance(outcome, MediaRefused):
                row.asset_sha256, row.etag = None, None
                row.refused_reason, row.refused_detail = outcome.reason, outcome.detail
                self.run.media_refused += 1
                result.media_refusals.append((member_id, w.url, outcome.reason))
                continue
            row.refused_reason = row.refused_detail = None
            if isinstance(outcome, NotModified):
                row.etag = outcome.etag or row.etag
                self.run.media_reused += 1
                continue
            if outcome.sha256 not in known:
                known.add(outcome.sha256)
                self.session.add(
                    MediaAsset(
                        sha256=outcome.sha256,
                        mime_type=outcome.mime_type,
                        width=outcome.width,
                        height=outcome.height,
                        bytes=outcome.size,
                        source_url=w.url,
                        etag=outcome.etag,
                        fetched_at=now,
                        path=str(outcome.path),
                    )
                )
                self.run.media_fetched += 1
            else:
                self.run.media_reused += 1
            row.asset_sha256, row.etag = outcome.sha256, outcome.etag
        for key, row in rows.items():
            if key not in kept:
                self.session.delete(row)


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
        writer = _PageWriter(session, run, source.name, fetcher, media_workers)
        try:
            if run.resumed_from and run.cursor is None and run.pages > 0:
                # every page was stored before the interruption: only the ending is left
                _finish(session, run, source, result)
                return result
            try:
                pages = source.pages(since=run.since, cursor=run.cursor)
                first = next(pages, None)
            except RegistryResponseError as exc:
                if not (run.resumed_from and exc.status == 400):
                    raise
                # the registry no longer accepts the saved cursor: start this run over
                run.cursor, run.pages = None, 0
                pages = source.pages(since=run.since, cursor=None)
                first = next(pages, None)
            for page in _chain(first, pages):
                writer.apply(page, result)
                session.commit()
                if progress:
                    progress(run, len(page.records))
            _finish(session, run, source, result)
        except BaseException as exc:
            session.rollback()
            interrupted = isinstance(exc, KeyboardInterrupt)
            run.status = SyncRunStatus.INTERRUPTED if interrupted else SyncRunStatus.FAILED
            run.finished_at = utcnow()
            if not interrupted:
                run.errors = [*run.errors, f"{type(exc).__name__}: {exc}"[:500]]
            session.add(run)
            session.commit()
            raise
        return result


def _chain(first: Page | None, rest: Iterable[Page]) -> Iterable[Page]:
    if first is not None:
        yield first
        yield from rest
