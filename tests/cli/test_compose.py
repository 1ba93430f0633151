"""`ifn-campaign compose` is the flow's compose stage: cards and captions for planned posts, and
the Short of every YouTube post that has none yet, chosen as the scheduled compose chooses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ifn_campaign.cli.app import main
from ifn_campaign.models import Post, PostState
from ifn_campaign.orchestration.stages import compose_work
from ifn_campaign.wiring import Resources
from tests.support.orchestration import write_campaign
from tests.support.publishing import _session


@pytest.mark.slow
def test_compose_makes_the_short_of_a_youtube_post(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_campaign(workdir / "campaigns", "uji", datetime.now(UTC) + timedelta(hours=3))
    monkeypatch.setenv("IFN_PLANNER__CAMPAIGNS_DIR", str(workdir / "campaigns"))
    assert main(["plan", "--weeks", "1"]) == 0
    capsys.readouterr()
    assert main(["compose", "--weeks", "2"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "2 composed (0 approved automatically), 0 failed, 0 skipped, 1 Shorts made" in printed
    with _session(workdir) as session:
        posts = {p.channel: p for p in session.scalars(select(Post))}
    youtube, instagram = posts["youtube"], posts["instagram"]
    assert youtube.state == instagram.state == PostState.COMPOSED
    assert youtube.video_path and Path(youtube.video_path).is_file()
    assert Path(youtube.video_path).read_bytes()[4:8] == b"ftyp"  # an MP4, made by the encoder
    assert instagram.video_path is None

    # a composed YouTube post whose Short is gone is the stage's work too, as in the flow
    Path(youtube.video_path).unlink()
    now = datetime.now(UTC)
    with Resources.load() as res:
        assert compose_work(res, now=now, until=now + timedelta(weeks=2)) == [youtube.id]
    assert main(["compose", "--weeks", "2"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "0 composed (0 approved automatically), 0 failed, 0 skipped, 1 Shorts made" in printed
    with _session(workdir) as session:
        again = session.get(Post, youtube.id)
        assert again is not None and again.video_path and Path(again.video_path).is_file()
