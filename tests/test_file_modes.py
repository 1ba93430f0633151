"""Cards, stored media and Shorts get the mode the umask asks for, so a static web server running
as another user can serve `publish.media_base_url` (0644 under 022), and a strict 077 keeps them
private. Each case runs in a child process started with that umask, as a worker would be."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ifn_campaign.files import file_mode, temporary_beside, write_atomically

ROOT = Path(__file__).resolve().parents[1]

# Renders a real card, fetches a real image over HTTP from the registry sandbox and makes a real
# Short, then prints each file's permission bits.
_CHILD = r"""
import json, stat, sys
from pathlib import Path

from ifn_campaign.cards import photo as photos
from ifn_campaign.cards.brand import BrandKit
from ifn_campaign.cards.render import CardData, Renderer
from ifn_campaign.cards.template import load_all
from ifn_campaign.config import MediaSettings
from ifn_campaign.registry.media import MediaFetcher
from ifn_sandbox.registry import RegistrySandbox
from ifn_campaign.cards.shorts import make_short

out = Path(sys.argv[1])
media = Path(sys.argv[2])
brand = BrandKit.load()
photo = photos.load_image(media / "ifn-0002-1.jpg", min_side=1920)
data = CardData(
    member_id="ifn-0002", business_name="Sepatu Kulit Priangan", place="Kota Bandung, Jawa Barat",
    tagline="Sepatu kulit buatan tangan.", sentra="Cibaduyut", actor_type="producer",
    actor_label="Produsen", categories=("Sepatu kulit",), initials="SK",
    photo=photo, photo_sha="ifn-0002-1.jpg",
)
cards = Renderer(brand, load_all(palette=brand.palette), out / "cards").render(
    data, "sorotan", ["ig_portrait", "shorts_frame"]
)
modes = {"card": stat.S_IMODE(cards[0].path.stat().st_mode)}
with RegistrySandbox(members=[]) as sb:
    sb.add_file("image.jpeg", (media / "ifn-0002-1.jpg").read_bytes(), "image/jpeg")
    settings = MediaSettings(dir=out / "media", allow_hosts=[sb.url.removeprefix("http://")])
    with MediaFetcher(settings) as fetcher:
        got = fetcher.fetch(f"{sb.url}/media/image.jpeg")
modes["media"] = stat.S_IMODE(got.path.stat().st_mode)
shorts_card = next(c for c in cards if c.format == "shorts_frame")
video = make_short([shorts_card.path], out / "short.mp4", seconds=6, fps=24)
modes["video"] = stat.S_IMODE(video.path.stat().st_mode)
print(json.dumps(modes))
"""


def _modes_under(umask: int, tmp_path: Path) -> dict[str, int]:
    media = ROOT / "assets" / "sample_registry" / "media"
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path), str(media)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        preexec_fn=lambda: os.umask(umask),
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_cards_media_and_shorts_follow_the_umask(umask: int, expected: int, tmp_path: Path) -> None:
    modes = _modes_under(umask, tmp_path)
    assert modes == {"card": expected, "media": expected, "video": expected}


def test_write_atomically_matches_open(tmp_path: Path) -> None:
    """The same bits `open()` gives a new file in this process, whatever the umask is here."""
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    written = tmp_path / "sub" / "written"
    write_atomically(written, b"card")
    assert written.read_bytes() == b"card"
    assert stat.S_IMODE(written.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    assert file_mode() == stat.S_IMODE(plain.stat().st_mode)
    assert [p.name for p in written.parent.iterdir()] == ["written"]


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "card.jpg"
    target.mkdir()  # the rename onto a directory fails after the bytes are written
    with pytest.raises(OSError):
        write_atomically(target, b"card")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.jpg"]
    assert list(target.iterdir()) == []


def test_temporary_beside_makes_the_folder(tmp_path: Path) -> None:
    path = temporary_beside(tmp_path / "a" / "b" / "v.mp4", prefix=".v.", suffix=".part")
    assert path.parent == tmp_path / "a" / "b"
    assert path.name.startswith(".v.") and path.name.endswith(".part")
    assert stat.S_IMODE(path.stat().st_mode) == file_mode()
