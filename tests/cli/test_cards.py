"""`ifn-campaign render` on members synced from the sample registry: files, preview, fallbacks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from ifn_campaign.cli.app import main
from ifn_sandbox.registry import RegistrySandbox
from tests.support.cli import point_cli_at


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    with RegistrySandbox() as sandbox:
        point_cli_at(sandbox, monkeypatch, tmp_path)
        assert main(["db", "upgrade"]) == 0
        assert main(["sync"]) == 0
    yield tmp_path


def test_render_members_writes_every_format_and_a_preview(
    synced: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    out = synced / "preview"
    code = main(["render", "-m", "ifn-0002", "-m", "ifn-0057", "-m", "ifn-0034", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "18 cards (18 drawn, 0 from cache)" in " ".join(printed.split())
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg"))
    assert "ifn-0002/sorotan-ig_portrait.jpg" in files
    # ifn-0057's only photo was refused at sync (metadata address): its cards are logo-led
    assert "ifn-0057/sorotan-logo-story.jpg" in files
    with Image.open(out / "ifn-0002" / "sorotan-fb_feed.jpg") as img:
        assert img.size == (1200, 630)
    html = (out / "preview.html").read_text(encoding="utf-8")
    assert "Sepatu {{ config }} Jaya" in html  # shown literally, never evaluated
    assert html.count("instagram caption") == 3 and "#IndonesiaMelangkah" in html
    assert html.count("<img ") == 18
    assert main(["render", "-m", "ifn-0002", "--out", str(out)]) == 0
    assert "6 cards (0 drawn, 6 from cache)" in " ".join(capsys.readouterr().out.split())


def test_render_one_format_as_png(synced: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = synced / "png"
    assert main(["render", "-m", "ifn-0005", "-f", "yt_thumbnail", "--png", "--out", str(out)]) == 0
    [card] = list(out.rglob("*.png"))
    with Image.open(card) as img:
        assert img.format == "PNG" and img.size == (1280, 720)


@pytest.mark.parametrize(
    "args,message",
    [
        (["render"], "--member ID"),
        (["render", "-m", "ifn-0002", "--template", "poster"], "unknown card template 'poster'"),
        (["render", "-m", "nobody"], "no card could be made"),
        (["render", "-m", "ifn-0002", "-f", "billboard"], "unknown card format 'billboard'"),
    ],
)
def test_render_errors_are_one_line(
    synced: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    capsys.readouterr()
    assert main(args) == 1
    err = capsys.readouterr().err
    assert message in " ".join(err.split()) and "Traceback" not in err


@pytest.mark.slow
def test_render_out_with_a_tilde_is_under_the_home_folder(
    synced: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--out=~/x` reaches us unexpanded (no shell expands it there): the home folder, not a
    folder named `~` in the working directory."""
    monkeypatch.setenv("HOME", str(synced / "home"))
    assert main(["render", "-m", "ifn-0005", "-f", "yt_thumbnail", "--out=~/cards"]) == 0
    assert (synced / "home" / "cards" / "preview.html").is_file()
    assert not (synced / "~").exists()
