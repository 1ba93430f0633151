"""The showcase publishes only card files of the data and cards folders: a card path naming
another file of this machine (a hand edit, a link out of the data folder) shows no card."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.models import Post
from ifn_campaign.showcase import build_showcase
from tests.support.showcase import NOW, Featured


def test_a_card_path_outside_the_data_and_cards_folders_is_never_published(
    featured: tuple[Session, Featured], showcase_settings: Settings, tmp_path: Path
) -> None:
    """A post whose card path names another file of this machine (a hand edit, or a link in the
    data folder pointing out of it) shows no card: the file never reaches the public site."""
    session, _ = featured
    private = tmp_path / "private" / "passport.jpg"
    private.parent.mkdir()
    private.write_bytes(b"\xff\xd8\xff private scan of a person")
    link = showcase_settings.base / "cards" / "escape.jpg"
    link.symlink_to(private)
    posts = list(session.scalars(select(Post).where(Post.card_path.is_not(None))))  # type: ignore[union-attr]
    for index, post in enumerate(posts):
        post.card_path = str(private) if index % 2 else showcase_settings.stored(link)
    session.commit()
    out = tmp_path / "site"
    build_showcase(session, showcase_settings, out, now=NOW)
    for path in out.rglob("*"):
        if path.is_file():
            assert b"private scan" not in path.read_bytes(), path
    assert not (out / "kartu").exists() or not any((out / "kartu").iterdir())
