"""The media stage of a sync: fetching the bytes of media rows after their page is committed.

A page's transaction stores members and their media rows (a new or changed picture as
`pending`); the bytes are fetched afterwards by a bounded pool while the next pages are written,
and each outcome is stored in a short transaction of its own. So a slow or hostile media host
holds one pool worker for at most `media.fetch_deadline`, never a page. Rows still pending or
refused for a reason that may pass (timeouts, HTTP errors) are fetched at the end of every
sync, whoever left them: a run killed between a page and its media, an incremental sync that
does not see the member again, a sync run with `--no-media`.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ifn_campaign.errors import MediaRefused
from ifn_campaign.models import MediaAsset, Member, MemberMedia, SyncRun, utcnow
from ifn_campaign.registry.media import FetchedMedia, MediaFetcher, NotModified

__all__ = [
    "NOT_FETCHED_YET",
    "PENDING",
    "TO_FETCH",
    "TRANSIENT_MEDIA_REASONS",
    "MediaStage",
    "escaped",
    "storable",
]

PENDING = "pending"
"""`refused_reason` of a media row whose bytes are still to be fetched (not a refusal)."""
NOT_FETCHED_YET = "not fetched yet"
# Refusals worth trying again on the next sync even when the profile did not change;
# `fetch_failed` is our own failure (an unwritable media folder, a fetcher bug), not the URL's.
TRANSIENT_MEDIA_REASONS = frozenset(
    {"timeout", "unreachable", "http_status", "truncated", "fetch_failed"}
)
TO_FETCH = frozenset({PENDING, *TRANSIENT_MEDIA_REASONS})
"""Rows in one of these states are fetched by the next sync."""
_BACKLOG = 64  # fetches queued per worker before the pages wait for the pool to catch up
_ETAG_MAX = 256


def storable(text: str) -> bool:
    """Whether both databases take `text` as it is: UTF-8 encodable (no lone surrogates) and
    without NUL, which PostgreSQL text refuses."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def escaped(text: str) -> str:
    """`text` with what a database refuses written as JSON escapes (\\ud800, \\u0000)."""
    return "".join(c if storable(c) else f"\\u{ord(c):04x}" for c in text)


@dataclass(frozen=True)
class _Job:
    row_id: int
    member_id: str
    url: str
    etag: str | None
    pending: bool  # written pending by a page (not a refusal to try again)

    @property
    def key(self) -> tuple[int, str]:
        return self.row_id, self.url


Outcome = FetchedMedia | NotModified | MediaRefused


class MediaStage:
    """Fetches media rows in a bounded pool; outcomes are written by the caller's thread."""

    def __init__(
        self,
        session: Session,
        run: SyncRun,
        source: str,
        fetcher: MediaFetcher | None,
        workers: int,
        refusals: list[tuple[str, str, str]],
    ) -> None:
        self.session = session
        self.run = run
        self.source = source
        self.fetcher = fetcher
        self.workers = workers
        self.refusals = refusals
        self.pool = ThreadPoolExecutor(workers, "media") if fetcher is not None else None
        self.running: dict[Future[Outcome], _Job] = {}
        # (row id, URL) fetched in this run: a refusal waits for the next run
        self.tried: dict[tuple[int, str], Future[Outcome]] = {}

    def submit(self, member_ids: list[str]) -> None:
        """Queue the rows of these (just committed) members that need a fetch, then store
        whatever has finished meanwhile."""
        if self.pool is None or not member_ids:
            return
        self._queue(self._rows(MemberMedia.member_id.in_(member_ids)))
        self._store(done_only=True)

    def finish(self) -> None:
        """Fetch everything still to fetch for this source, including rows that earlier runs
        left pending or transiently refused, and store every outcome."""
        if self.pool is None:
            return
        last = 0
        while True:
            jobs = self._rows(
                Member.source == self.source,
                MemberMedia.checked_at < self.run.started_at,  # not looked at in this run
                MemberMedia.id > last,
                limit=500,
            )
            if not jobs:
                break
            last = jobs[-1].row_id
            self._queue(jobs)
            self._store(done_only=True)
        self._store(done_only=False)

    def close(self) -> None:
        """Stop queued fetches; running ones end by their own deadline."""
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)

    def _rows(self, *where: Any, limit: int | None = None) -> list[_Job]:
        query = (
            select(
                MemberMedia.id,
                MemberMedia.member_id,
                MemberMedia.source_url,
                MemberMedia.etag,
                MemberMedia.asset_sha256,
                MemberMedia.refused_reason,
            )
            .join(Member, Member.id == MemberMedia.member_id)
            .where(
                *where,
                or_(
                    MemberMedia.refused_reason.in_(TO_FETCH),
                    MemberMedia.refused_reason.is_(None) & MemberMedia.asset_sha256.is_(None),
                ),
            )
            .order_by(MemberMedia.id)
            .limit(limit)
        )
        jobs = [
            _Job(
                row.id,
                row.member_id,
                row.source_url,
                row.etag if row.asset_sha256 else None,
                row.refused_reason == PENDING,
            )
            for row in self.session.execute(query)
        ]
        self.session.commit()  # a read: end its transaction so none is held while fetching
        return jobs

    def _queue(self, jobs: Iterable[_Job]) -> None:
        assert self.pool is not None
        for job in jobs:
            if not self._needs_fetch(job):
                continue
            if len(self.running) >= self.workers * _BACKLOG:
                self._make_room()
            future = self.pool.submit(self._fetch, job)
            self.running[future] = job
            self.tried[job.key] = future

    def _needs_fetch(self, job: _Job) -> bool:
        """Not yet tried in this run, or made pending again by a later page (the member changed
        again) after its fetch was stored; a fetch still to be stored is of the same URL."""
        earlier = self.tried.get(job.key)
        return earlier is None or (job.pending and earlier not in self.running)

    def _fetch(self, job: _Job) -> Outcome:
        assert self.fetcher is not None
        try:
            return self.fetcher.fetch(job.url, etag=job.etag)
        except MediaRefused as exc:
            return exc
        except Exception as exc:  # a fetcher bug is this picture's, not the sync's
            return MediaRefused("fetch_failed", f"{type(exc).__name__}: {exc}"[:300], url=job.url)

    def _make_room(self) -> None:
        """Wait for the older half of the queue, then store what is done in one transaction:
        waiting for one fetch at a time cost a wait over the whole queue and a commit per fetch
        (more CPU than the fetches)."""
        wait(list(self.running)[: len(self.running) // 2])
        self._store(done_only=True)

    def _store(self, *, done_only: bool) -> None:
        """Write the outcomes of finished fetches (all of them unless `done_only`) in one short
        transaction."""
        if not self.running:
            return
        if not done_only:
            finished = list(self.running)
            wait(finished)
        else:
            finished = [f for f in self.running if f.done()]
        if not finished:
            return
        outcomes = [(self.running.pop(f), f.result()) for f in finished]
        self._write(outcomes, utcnow())
        self.session.commit()

    def _current(self, outcomes: list[tuple[_Job, Outcome]]) -> list[tuple[_Job, Outcome]]:
        """The outcomes whose row still holds the URL fetched: a member who changed the picture
        (or dropped it) meanwhile has a new row state that an old fetch must not write over,
        nor be counted or reported for."""
        ids = [job.row_id for job, _ in outcomes]
        rows = self.session.execute(
            select(MemberMedia.id, MemberMedia.source_url).where(MemberMedia.id.in_(ids))
        )
        still = {(row.id, row.source_url) for row in rows}
        return [(job, outcome) for job, outcome in outcomes if job.key in still]

    def _insert_assets(self, assets: list[dict[str, Any]]) -> None:
        """Another sync (another source) may store the same picture between our look-up and
        this insert: the asset is the same bytes, so theirs is kept."""
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(MediaAsset.__table__).on_conflict_do_nothing(index_elements=["sha256"])
        self.session.execute(statement, assets)

    def _write(self, outcomes: list[tuple[_Job, Outcome]], now: datetime) -> None:
        outcomes = self._current(outcomes)
        if not outcomes:
            return
        table = MemberMedia.__table__
        same_row = (table.c.id == bindparam("b_id")) & (table.c.source_url == bindparam("b_url"))
        fetched = {o.sha256: (j, o) for j, o in outcomes if isinstance(o, FetchedMedia)}
        known = set(
            self.session.scalars(select(MediaAsset.sha256).where(MediaAsset.sha256.in_(fetched)))
        )
        # the file's path as the row keeps it (relative to the data folder: MediaFetcher.stored)
        stored = self.fetcher.stored if self.fetcher is not None else str
        new_assets = [
            {
                "sha256": sha,
                "mime_type": media.mime_type,
                "width": media.width,
                "height": media.height,
                "bytes": media.size,
                "source_url": job.url,
                "etag": _etag(media.etag),
                "fetched_at": now,
                "path": stored(media.path),
            }
            for sha, (job, media) in fetched.items()
            if sha not in known
        ]
        if new_assets:
            self._insert_assets(new_assets)
        rows: list[dict[str, Any]] = []
        for job, outcome in outcomes:
            values = {"b_id": job.row_id, "b_url": job.url, "checked_at": now}
            if isinstance(outcome, MediaRefused):
                detail = outcome.detail if storable(outcome.detail) else escaped(outcome.detail)
                values |= {"asset": None, "etag": None, "reason": outcome.reason}
                values["detail"] = detail[:1000]
                self.run.media_refused += 1
                self.refusals.append((job.member_id, job.url, outcome.reason))
            elif isinstance(outcome, NotModified):
                values |= {"asset": None, "etag": _etag(outcome.etag or job.etag), "reason": None}
                values["detail"] = None
                self.run.media_reused += 1
            else:
                values |= {"asset": outcome.sha256, "etag": _etag(outcome.etag), "reason": None}
                values["detail"] = None
                if outcome.sha256 in known:
                    self.run.media_reused += 1
                else:
                    known.add(outcome.sha256)
                    self.run.media_fetched += 1
            rows.append(values)
        kept = [r for r in rows if r["asset"] is not None or r["reason"] is not None]
        confirmed = [r for r in rows if r["asset"] is None and r["reason"] is None]
        columns = {
            "etag": bindparam("etag"),
            "refused_reason": bindparam("reason"),
            "refused_detail": bindparam("detail"),
            "checked_at": bindparam("checked_at"),
        }
        conn = self.session.connection()
        if kept:
            statement = update(table).where(same_row)
            conn.execute(statement.values(asset_sha256=bindparam("asset"), **columns), kept)
        if confirmed:  # 304: the stored asset stays
            conn.execute(update(table).where(same_row).values(**columns), confirmed)


def _etag(value: str | None) -> str | None:
    """An ETag worth sending back: a hostile one (too long, unprintable) is dropped."""
    if value is None or len(value) > _ETAG_MAX or not value.isprintable() or not storable(value):
        return None
    return value
