"""The stages the flows run, without Prefect: planning every campaign on file, composing in chunks
with one post's failure kept on that post, Shorts made ahead, and the summaries staff read."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import Settings
from ifn_campaign.errors import ConfigError, StoreError, VideoError
from ifn_campaign.models import Post, PostState
from ifn_campaign.orchestration.stages import (
    ComposeSummary,
    campaign_markdown,
    chunked,
    compose_chunk,
    compose_stage,
    compose_work,
    plan_stage,
    publish_markdown,
)
from ifn_campaign.publishing.publisher import PublishReport, TakedownReport
from ifn_campaign.wiring import Resources
from tests.support.orchestration import WIB, _chunk_result, write_campaign


@pytest.fixture
def cfg(synced_db: Path, tmp_path: Path) -> Settings:
    with sqlite3.connect(synced_db / "ifn.db") as src, sqlite3.connect(tmp_path / "ifn.db") as dst:
        src.backup(dst)
    return Settings(
        database={"url": f"sqlite:///{tmp_path / 'ifn.db'}"},
        media={"dir": synced_db / "media"},
        cards={"cache_dir": tmp_path / "cards"},
        planner={"campaigns_dir": tmp_path / "campaigns"},
    )


def _posts(cfg: Settings) -> list[Post]:
    with Session(store.open_store(cfg.database.url)) as session:
        return list(session.scalars(select(Post).order_by(Post.slot_at, Post.id)))


def test_plan_stage_plans_each_campaign_and_lists_one_that_fails(
    cfg: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ifn_campaign.errors import PlanError
    from ifn_campaign.planner import plan

    soon = datetime.now(UTC) + timedelta(hours=3)
    assert cfg.planner.campaigns_dir is not None
    write_campaign(cfg.planner.campaigns_dir, "satu", soon)
    write_campaign(cfg.planner.campaigns_dir, "dua", soon + timedelta(hours=1))
    real = plan.plan_campaign

    def flaky(session: Session, campaign: Any, *args: Any, **kwargs: Any) -> Any:
        if campaign.name == "dua":
            raise PlanError("the <b>dua</b> campaign broke")
        return real(session, campaign, *args, **kwargs)

    monkeypatch.setattr(plan, "plan_campaign", flaky)
    summary = plan_stage(Resources(cfg), weeks=1)
    assert [r.campaign for r in summary.results] == ["satu"]
    assert summary.failed == [("dua", "the <b>dua</b> campaign broke")]
    counts = summary.counts()
    assert counts["planned"] == 2 and counts["failed_campaigns"] == 1
    markdown = summary.markdown(WIB)
    assert "| satu | 2 | 0 | 0 | 0 | 0 | 0 | 0 |" in markdown
    assert "## Campaigns not planned" in markdown and "<b>" not in markdown
    assert {p.campaign for p in _posts(cfg)} == {"satu"}  # nothing of the failed one is kept


def test_plan_stage_stops_on_unusable_settings(cfg: Settings, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="campaigns directory not found"):
        plan_stage(Resources(cfg), weeks=1)  # the folder was never made
    gone = f"sqlite:///{tmp_path / 'no' / 'such.db'}"
    broken = cfg.model_copy(update={"database": cfg.database.model_copy(update={"url": gone})})
    with pytest.raises(StoreError):
        plan_stage(Resources(broken), weeks=1)


def test_plan_stage_dry_run_and_chosen_campaigns(cfg: Settings) -> None:
    """A dry run plans what the real run plans and writes nothing; named campaigns are the only
    ones planned, and a name not on file stops the stage (the CLI's `--campaign`)."""
    from ifn_campaign.errors import UnknownValueError

    soon = datetime.now(UTC) + timedelta(hours=3)
    assert cfg.planner.campaigns_dir is not None
    write_campaign(cfg.planner.campaigns_dir, "satu", soon)
    write_campaign(cfg.planner.campaigns_dir, "dua", soon + timedelta(hours=1))
    dry = plan_stage(Resources(cfg), weeks=1, dry_run=True)
    assert [r.campaign for r in dry.results] == ["dua", "satu"]  # by name
    assert _posts(cfg) == []
    chosen = plan_stage(Resources(cfg), weeks=1, campaigns=["dua"])
    assert [r.campaign for r in chosen.results] == ["dua"]
    assert {p.campaign for p in _posts(cfg)} == {"dua"}
    real = plan_stage(Resources(cfg), weeks=1)
    assert real.counts()["planned"] + real.counts()["kept"] == dry.counts()["planned"]
    with pytest.raises(UnknownValueError, match="unknown campaign 'tiga'; valid: "):
        plan_stage(Resources(cfg), weeks=1, campaigns=["tiga"])


def test_compose_stage_composes_the_window_and_tells_progress(
    cfg: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In this process (one worker): progress after each post, in posts, up to all of them;
    the summary, the chunk count and no error."""
    from ifn_campaign.cards import shorts

    soon = datetime.now(UTC) + timedelta(hours=3)
    assert cfg.planner.campaigns_dir is not None
    write_campaign(cfg.planner.campaigns_dir, "uji", soon, ("instagram", "facebook", "youtube"))
    one = cfg.model_copy(
        update={"prefect": cfg.prefect.model_copy(update={"card_workers": 1, "chunk_size": 2})}
    )
    plan_stage(Resources(one), weeks=1)

    def post_video(post: Post, folder: Path, **_: object) -> Path:  # the real one takes ~5 s
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"post-{post.id}.mp4").write_bytes(b"video")
        return folder / f"post-{post.id}.mp4"

    monkeypatch.setattr(shorts, "post_video", post_video)
    told: list[tuple[int, int]] = []
    with Resources(one) as res:
        run = compose_stage(res, weeks=2, progress=lambda done, total: told.append((done, total)))
    assert run.stopped is None and run.chunks == 2
    assert run.summary.counts()["composed"] == 3 and run.summary.counts()["videos"] == 1
    assert told == [(1, 3), (2, 3), (3, 3)]
    assert {p.state for p in _posts(cfg)} == {PostState.COMPOSED}


def test_compose_chunk_keeps_one_posts_failure_on_it_and_goes_on(
    cfg: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unforeseen error drawing one member's card fails that post only, with the reason in its
    notes; the Short of the YouTube post is made ahead and stored like the publisher would."""
    from ifn_campaign.cards import shorts
    from ifn_campaign.posts import compose

    soon = datetime.now(UTC) + timedelta(hours=3)
    assert cfg.planner.campaigns_dir is not None
    write_campaign(cfg.planner.campaigns_dir, "uji", soon, ("instagram", "facebook", "youtube"))
    plan_stage(Resources(cfg), weeks=1)
    now = datetime.now(UTC)
    work = compose_work(Resources(cfg), now=now, until=now + timedelta(weeks=2))
    posts = {p.channel: p for p in _posts(cfg)}
    assert sorted(work) == sorted(p.id for p in posts.values())
    broken_member = posts["facebook"].member_id
    real_card_data = compose.card_data

    def card_data(session: Session, member_id: str, **kwargs: Any) -> Any:
        if member_id == broken_member:
            raise RuntimeError("disk on fire")
        return real_card_data(session, member_id, **kwargs)

    made: list[int] = []

    def post_video(post: Post, folder: Path, **_: object) -> Path:  # the real one takes ~5 s
        assert post.card_path and Path(post.card_path).is_file()
        made.append(post.id or 0)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"post-{post.id}.mp4").write_bytes(b"video")
        return folder / f"post-{post.id}.mp4"

    monkeypatch.setattr(compose, "card_data", card_data)
    monkeypatch.setattr(shorts, "post_video", post_video)
    summary = compose_chunk(Resources(cfg), work, now=now)
    by_channel = {p.channel: p for p in _posts(cfg)}
    fb, ig, yt = by_channel["facebook"], by_channel["instagram"], by_channel["youtube"]
    assert summary.failed == [(fb.id, "cannot compose: RuntimeError: disk on fire")]
    assert fb.state == PostState.PLANNED
    assert fb.compose_notes == ["cannot compose: RuntimeError: disk on fire"]
    assert sorted(summary.composed) == sorted([ig.id, yt.id])
    assert ig.state == yt.state == PostState.COMPOSED
    assert made == [yt.id] and summary.videos == [yt.id]
    assert yt.video_path == str(cfg.cards.cache_dir / "videos" / f"post-{yt.id}.mp4")
    # the next run has only the failed post left to do, and nothing to make twice
    assert compose_work(Resources(cfg), now=now, until=now + timedelta(weeks=2)) == [fb.id]


def test_a_short_that_cannot_be_made_is_noted_and_retried_next_time(
    cfg: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ifn_campaign.cards import shorts

    soon = datetime.now(UTC) + timedelta(hours=3)
    assert cfg.planner.campaigns_dir is not None
    write_campaign(cfg.planner.campaigns_dir, "uji", soon, ("youtube",))
    plan_stage(Resources(cfg), weeks=1)
    now = datetime.now(UTC)

    def post_video(post: Post, folder: Path, **_: object) -> Path:
        raise VideoError("the encoder failed: out of memory", path=folder)

    monkeypatch.setattr(shorts, "post_video", post_video)
    work = compose_work(Resources(cfg), now=now, until=now + timedelta(weeks=2))
    summary = compose_chunk(Resources(cfg), work, now=now)
    (yt,) = _posts(cfg)
    assert yt.state == PostState.COMPOSED and yt.video_path is None
    ((post_id, why),) = summary.video_failed
    assert post_id == yt.id and why.startswith("Shorts video not made yet: ")
    assert "out of memory" in why and (yt.compose_notes or [])[-1] == why
    assert compose_work(Resources(cfg), now=now, until=now + timedelta(weeks=2)) == [yt.id]
    markdown = summary.markdown()
    assert "## Shorts not made yet (the publisher tries again)" in markdown
    assert "| 1 | 0 | 0 | 0 | 0 | 1 |" in markdown


def test_chunks_summaries_and_markdown() -> None:
    assert chunked([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert chunked([], 20) == []
    merged = ComposeSummary.merge(
        [ComposeSummary(composed=[1], videos=[1]), ComposeSummary(composed=[2], failed=[(3, "x")])]
    )
    assert merged.counts() == {
        "composed": 2,
        "approved": 0,
        "failed": 1,
        "skipped": 0,
        "videos": 1,
        "videos_failed": 0,
    }
    report = PublishReport(published=[1], failed=[(2, "Meta refused | <img src=x>")])
    text = publish_markdown(report, TakedownReport(left_to_staff=[9]))
    assert "| 1 | 0 | 0 | 0 | 1 | 0 | 0 |" in text
    assert "\\<img" in text and "\\|" in text and "Left to staff to take down: 9" in text
    run = campaign_markdown(
        {"sync_registry": {"new": 3, "mode": "full"}, "compose": "StoreError: down"}
    )
    assert "| sync_registry | new 3 |" in run and "| compose | failed: StoreError: down |" in run


# --- compose's worker processes --------------------------------------------------------------


def test_chunks_in_worker_processes_survive_a_killed_worker_and_keep_its_posts() -> None:
    """A worker SIGKILLed mid-chunk: the chunks that finished count, the posts of the ones that
    did not stay planned with the reason (nothing lost, nothing half-done), progress is told."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from ifn_campaign.orchestration.stages import gather_chunks

    chunks = [[1, 2], [66], [3]]
    progress: list[tuple[int, int]] = []
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        first = pool.submit(_chunk_result, chunks[0])
        first.result()  # done before the worker dies
        futures = [first] + [pool.submit(_chunk_result, ids) for ids in chunks[1:]]
        summary, stopped = gather_chunks(
            chunks, [f.result for f in futures], lambda d, t: progress.append((d, t))
        )
    assert stopped is None
    assert summary.composed == [1, 2]
    assert [post_id for post_id, _ in summary.failed] == [66, 3]
    assert all(
        "the worker for this chunk failed: BrokenProcessPool" in why for _, why in summary.failed
    )
    assert progress == [(1, 3), (2, 3), (3, 3)]


def test_an_error_that_stops_the_stage_comes_back_from_a_worker_whole() -> None:
    """Unusable templates in a worker: the flow gets the same TemplateError (file, layer, key),
    after the other chunks were counted."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from ifn_campaign.errors import TemplateError
    from ifn_campaign.orchestration.stages import gather_chunks

    chunks = [[1], [77], [2]]
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_chunk_result, ids) for ids in chunks]
        summary, stopped = gather_chunks(chunks, [f.result for f in futures])
    assert sorted(summary.composed) == [1, 2] and summary.failed == []
    assert isinstance(stopped, TemplateError)
    assert (stopped.file, stopped.layer, stopped.key) == ("sorotan.toml", "x", "type")
    assert str(stopped) == "sorotan.toml, layer 'x', key 'type': unknown layer type 'blob'"


@pytest.mark.slow
def test_compose_chunks_draws_in_two_processes_and_in_this_one(
    cfg: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers (spawned, handed the settings: not the environment's, which names another
    database here) compose their chunks for real; with one chunk the work stays in this
    process."""
    from ifn_campaign.orchestration.stages import compose_chunks

    soon = datetime.now(UTC) + timedelta(hours=3)
    assert cfg.planner.campaigns_dir is not None
    write_campaign(cfg.planner.campaigns_dir, "uji", soon, ("instagram", "facebook"))
    plan_stage(Resources(cfg), weeks=1)
    now = datetime.now(UTC)
    work = compose_work(Resources(cfg), now=now, until=now + timedelta(weeks=2))
    assert len(work) == 2
    monkeypatch.setenv("IFN_DATABASE__URL", "sqlite:////nonexistent/not-this-one.db")
    two = cfg.model_copy(update={"prefect": cfg.prefect.model_copy(update={"card_workers": 2})})
    summary, stopped = compose_chunks(Resources(two), chunked(work, 1), now=now)
    assert stopped is None and sorted(summary.composed) == sorted(work)
    assert {p.state for p in _posts(cfg)} == {PostState.COMPOSED}
    assert compose_chunks(Resources(cfg), [], now=now)[0].counts()["composed"] == 0
