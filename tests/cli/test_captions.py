"""`captions show` as staff read it: the member's consent per channel, no copy for a channel
the member cannot be posted on (consent.promotable decides), unless --ignore-consent, which
labels it NOT POSTABLE."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from ifn_campaign import store
from ifn_campaign.cli.app import main
from ifn_campaign.models import Member, utcnow
from ifn_sandbox.registry import RegistrySandbox, generate_members
from tests.support.cli import point_cli_at


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    with RegistrySandbox(members=generate_members(3, seed=5)) as sandbox:
        point_cli_at(sandbox, monkeypatch, tmp_path)
        assert main(["db", "upgrade"]) == 0
        assert main(["sync", "--no-media"]) == 0
        yield tmp_path


def _set(tmp_path: Path, member_id: str, **values: object) -> None:
    engine = store.make_engine(f"sqlite:///{tmp_path / 'ifn.db'}")
    with engine.begin() as conn:
        conn.execute(update(Member).where(Member.id == member_id).values(**values))
    engine.dispose()


def _sections(out: str) -> dict[str, str]:
    """The text under each channel's rule, by the rule's first word."""
    found: dict[str, str] = {}
    current = "head"
    for line in out.splitlines():
        if line.startswith("─") or line.startswith("━"):
            current = line.strip("─━ ").split(" ")[0].rstrip(":")
            found[current] = line.strip("─━ ") + "\n"
        else:
            found[current] = found.get(current, "") + line + "\n"
    return found


def test_a_channel_without_consent_gets_no_caption(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    granted = datetime(2025, 1, 1, tzinfo=UTC)
    _set(
        cli,
        "gen-000001",
        consent_channels=["instagram"],
        consent_granted_at=granted,
        consent_withdrawn_at=None,
        status="active",
    )
    capsys.readouterr()
    assert main(["captions", "show", "gen-000001"]) == 0
    shown = _sections(capsys.readouterr().out)
    head = shown["head"]
    assert "consent: granted on 2025-01-01 07:00 WIB; channels: instagram" in head
    assert "instagram: postable" in head
    assert "facebook: NOT POSTABLE: no consent for facebook" in head
    assert "youtube: NOT POSTABLE: no consent for youtube" in head
    assert "#IndonesiaMelangkah" in shown["instagram"]
    for channel in ("facebook", "youtube"):
        assert shown[channel].startswith(f"{channel}: not postable")
        assert f"no caption: no consent for {channel}" in shown[channel]
        assert "#" not in shown[channel] and "https://" not in shown[channel]
    assert main(["captions", "show", "gen-000001", "-c", "youtube", "--ignore-consent"]) == 0
    shown = _sections(capsys.readouterr().out)
    assert "NOT POSTABLE: no consent for youtube" in shown["youtube"]
    assert "#IndonesiaMelangkah" in shown["youtube"]


def test_withdrawn_future_and_inactive_members_show_why(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    everything = ["instagram", "facebook", "youtube"]
    past = datetime(2025, 1, 1, tzinfo=UTC)
    _set(
        cli,
        "gen-000001",
        consent_channels=everything,
        consent_granted_at=past,
        consent_withdrawn_at=datetime(2025, 6, 1, tzinfo=UTC),
        status="active",
    )
    _set(
        cli,
        "gen-000002",
        consent_channels=everything,
        consent_granted_at=utcnow() + timedelta(days=30),
        consent_withdrawn_at=None,
        status="active",
    )
    _set(
        cli,
        "gen-000003",
        consent_channels=everything,
        consent_granted_at=past,
        consent_withdrawn_at=None,
        status="suspended",
    )
    capsys.readouterr()
    for member_id, why in (
        ("gen-000001", "consent withdrawn on 2025-06-01 07:00 WIB"),
        ("gen-000002", "consent starts on"),
        ("gen-000003", "member is suspended"),
    ):
        assert main(["captions", "show", member_id, "-c", "facebook"]) == 0
        shown = _sections(capsys.readouterr().out)
        assert f"no caption: {why}" in " ".join(shown["facebook"].split()), shown
        assert "#IndonesiaMelangkah" not in shown["facebook"]


def test_the_youtube_title_is_labelled_as_review_labels_it(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Piped to a file the bold is gone: an unlabelled first line read as the description's."""
    _set(
        cli,
        "gen-000001",
        consent_channels=["instagram", "facebook", "youtube"],
        consent_granted_at=datetime(2025, 1, 1, tzinfo=UTC),
        consent_withdrawn_at=None,
        status="active",
    )
    capsys.readouterr()
    assert main(["captions", "show", "gen-000001", "-c", "youtube"]) == 0
    body = _sections(capsys.readouterr().out)["youtube"].splitlines()
    assert body[1].startswith("title: ") and "Sorotan Anggota IFN" in body[1], body
    assert body[2] == "", body  # a blank line, then the description
    assert any(line.startswith("tags: ") for line in body)
