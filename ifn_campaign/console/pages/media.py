"""Card images and Shorts for the console's previews, and what a post's preview shows.

Cards, thumbnails and carousel slides are served ONLY by their content hash: `/cards/<key>.<ext>`
names `<cards.cache_dir>/<key[:2]>/<key>.<ext>`, where key is 64 hex digits and ext jpg or png;
anything else is 404, and a file that resolves outside the folder (a symbolic link) too. No
part of the URL is ever used as a path. A file named by its hash never changes, so the browser
may keep it for a year. A post's Short is found through the post (`post.video_path`), and only
when it lies inside the Shorts folder beside the cards.

Templates never build these URLs: the pages pass `Preview`s (`preview(post)`), whose URLs come
from `card_url`, the one way to turn a stored card path into its address.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from ifn_campaign.cards.shorts import video_folder
from ifn_campaign.channels.channel import Channel
from ifn_campaign.console.web import DB, PostId, Viewer, state
from ifn_campaign.models import Post

__all__ = [
    "FEED_CUT",
    "Preview",
    "Slide",
    "card_file",
    "card_url",
    "feed_cut",
    "preview",
    "router",
    "short_url",
]

router = APIRouter()

KEY = re.compile(r"[0-9a-f]{64}")
TYPES = {"jpg": "image/jpeg", "png": "image/png"}
# a card's name is its content: it never changes, so the browser keeps it (private: staff only)
IMMUTABLE = "private, max-age=31536000, immutable"
# a Short keeps its name when it is made again: the browser asks each time
REVALIDATE = "private, no-cache"
FEED_CUT = 125  # Instagram's feed shows this many characters before "… more"


def card_url(stored: str | None) -> str | None:
    """`/cards/<key>.<ext>` for a card path as stored on a post (relative or absolute, either
    separator); None when it is not a content-addressed card file."""
    if not stored:
        return None
    name = PureWindowsPath(stored).name if "\\" in stored else PurePosixPath(stored).name
    key, dot, ext = name.partition(".")
    if not dot or not KEY.fullmatch(key) or ext not in TYPES:
        return None
    return f"/cards/{key}.{ext}"


def short_url(post: Post) -> str | None:
    """Where the console plays a YouTube post's Short; None when it has none yet."""
    if post.channel != Channel.YOUTUBE or not post.video_path or post.id is None:
        return None
    return f"/posts/{post.id}/short.mp4"


def card_file(cache_dir: Path, key: str, ext: str) -> Path | None:
    """The card file of `key` in the cache, or None: a key that is not 64 hex digits, another
    type, no such file, or one whose real place is outside the cache (a link out of it)."""
    if not KEY.fullmatch(key) or ext not in TYPES:
        return None
    return _inside(cache_dir / key[:2] / f"{key}.{ext}", cache_dir)


def _inside(path: Path, folder: Path) -> Path | None:
    """`path`'s real place if it is a file inside `folder`'s real place, else None."""
    try:
        real = path.resolve(strict=True)
        root = folder.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, a link loop
        return None
    if not real.is_relative_to(root) or not real.is_file():
        return None
    return real


@router.get("/cards/{name}")
def card(request: Request, name: str, staff: Viewer) -> FileResponse:
    """A card, thumbnail or slide image by its content hash."""
    key, _, ext = name.partition(".")
    found = card_file(state(request).settings.cards.cache_dir, key, ext)
    if found is None:
        raise HTTPException(status_code=404, detail="no such card")
    return FileResponse(found, media_type=TYPES[ext], headers={"Cache-Control": IMMUTABLE})


@router.get("/posts/{post_id}/short.mp4")
def short(request: Request, post_id: PostId, staff: Viewer, session: DB) -> FileResponse:
    """A YouTube post's Short, if it has one inside the Shorts folder."""
    settings = state(request).settings
    post = session.get(Post, post_id)
    if post is None or short_url(post) is None or post.video_path is None:
        raise HTTPException(status_code=404, detail="this post has no Short")
    found = _inside(settings.path(post.video_path), video_folder(settings.cards.cache_dir))
    if found is None:
        raise HTTPException(status_code=404, detail="this post has no Short")
    return FileResponse(found, media_type="video/mp4", headers={"Cache-Control": REVALIDATE})


def feed_cut(text: str, limit: int = FEED_CUT) -> tuple[str, str]:
    """The caption as a feed shows it before "… more", and the rest (empty when it fits).
    Never cuts inside a pair of UTF-16 surrogates or before a combining mark."""
    if len(text) <= limit:
        return text, ""
    cut = limit
    while cut > 0 and _joins(text[cut]):
        cut -= 1
    return text[:cut], text[cut:]


def _joins(ch: str) -> bool:
    """Whether `ch` belongs with the character before it (a mark, a joiner, a selector)."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Mc", "Me")
        or cp in (0x200C, 0x200D)
        or 0xFE00 <= cp <= 0xFE0F
        or 0x1F3FB <= cp <= 0x1F3FF
    )


@dataclass(frozen=True)
class Slide:
    url: str
    alt: str


@dataclass(frozen=True)
class Preview:
    """What a post's preview shows: its images and Short as console URLs, and its caption
    as the network's feed cuts it (`_preview.html.j2` draws it)."""

    card: str | None
    thumbnail: str | None
    slides: tuple[Slide, ...]
    video: str | None
    caption_head: str
    caption_rest: str


def preview(post: Post) -> Preview:
    """The preview of one post (no file is opened: the URLs are checked when fetched)."""
    head, rest = feed_cut(post.caption or "")
    slides = tuple(
        Slide(url, str(slide.get("alt") or ""))
        for slide in post.slides or []
        if (url := card_url(str(slide.get("path") or ""))) is not None
    )
    return Preview(
        card=card_url(post.card_path),
        thumbnail=card_url(post.thumbnail_path),
        slides=slides,
        video=short_url(post),
        caption_head=head,
        caption_rest=rest,
    )
