"""Compose planned posts: the card for the channel's format and the caption, stored on the post.

A composed post waits for staff review, unless its campaign auto-approves. Content is made from
the member as stored now, so consent is checked here again (in force at the compose clock): a
member who lost consent for the channel, or whose consent now starts later, is left to the
planner (which replaces the post) rather than composed. A member whose card cannot be drawn keeps
the post planned, with the reason, and the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.captions.writer import CampaignInfo, CaptionWriter
from ifn_campaign.cards.member_card import card_data, slides
from ifn_campaign.cards.render import CardData, Renderer, photo_side
from ifn_campaign.channels.channel import Channel
from ifn_campaign.errors import IFNError
from ifn_campaign.models import Member, Post, PostState
from ifn_campaign.planner.campaign import Campaign
from ifn_campaign.posts.lifecycle import move
from ifn_campaign.registry.consent import ConsentState, consent_at, promotable, starts_on

SLIDE_TEMPLATE = "sorotan-foto"  # templates/cards/: a further photo as a carousel slide
_PRODUCT_PHOTO = {"id": "foto produk", "en": "product photo"}

# The card each channel posts (YouTube's is the Shorts frame, kept with the post for review),
# and YouTube's thumbnail. The Short itself is made from the member's photos (shorts.py).
CARD_FORMAT = {
    Channel.INSTAGRAM: "ig_portrait",
    Channel.FACEBOOK: "fb_feed",
    Channel.YOUTUBE: "shorts_frame",
}
THUMBNAIL_FORMAT = {Channel.YOUTUBE: "yt_thumbnail"}


@dataclass
class ComposeResult:
    composed: list[int] = field(default_factory=list)
    approved: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def compose_posts(
    session: Session,
    renderer: Renderer,
    writer: CaptionWriter,
    campaigns: dict[str, Campaign],
    now: datetime,
    *,
    stored: Callable[[Path], str],
    file: Callable[[str], Path],
    until: datetime | None = None,
    post_ids: Iterable[int] | None = None,
    on_post: Callable[[Post], None] | None = None,
) -> ComposeResult:
    """Compose every planned post with a future slot (before `until`, or the given ones); each
    post is committed by the caller's session as it goes, so a crash loses at most one.
    `stored` turns a card's path into the path kept on the post, `file` a stored media path
    into the file (the settings' `stored` and `path`: relative to the data folder)."""
    query = select(Post).where(Post.state == PostState.PLANNED, Post.slot_at > now)
    if until is not None:
        query = query.where(Post.slot_at < until)
    if post_ids is not None:
        query = query.where(Post.id.in_(list(post_ids)))
    result = ComposeResult()
    for post in list(session.scalars(query.order_by(Post.slot_at, Post.id))):
        campaign = campaigns.get(post.campaign)
        member = session.get(Member, post.member_id)
        why = _not_composable(post, member, campaign, now)
        if why is not None:
            result.skipped.append((post.id or 0, why))
        else:
            assert member is not None and campaign is not None
            try:
                _compose(
                    session, renderer, writer, post, member, campaign, now, result, stored, file
                )
            except IFNError as exc:
                post.compose_notes = [f"cannot compose: {exc}"]
                result.failed.append((post.id or 0, str(exc)))
        session.commit()
        if on_post is not None:
            on_post(post)
    return result


def _not_composable(
    post: Post, member: Member | None, campaign: Campaign | None, now: datetime
) -> str | None:
    if campaign is None:
        return f"campaign {post.campaign!r} is not on file any more"
    if member is None:
        return "member no longer stored"
    if consent_at(member, now) is ConsentState.NOT_YET:
        assert member.consent_granted_at is not None
        return f"{starts_on(member.consent_granted_at)}: run `ifn-campaign plan`"
    if not promotable(member, now, post.channel):
        return "member not promotable on this channel any more: run `ifn-campaign plan`"
    return None


def _compose(
    session: Session,
    renderer: Renderer,
    writer: CaptionWriter,
    post: Post,
    member: Member,
    campaign: Campaign,
    now: datetime,
    result: ComposeResult,
    stored: Callable[[Path], str],
    file: Callable[[str], Path],
) -> None:
    formats = [CARD_FORMAT[post.channel]]
    if post.channel in THUMBNAIL_FORMAT:
        formats.append(THUMBNAIL_FORMAT[post.channel])
    template = renderer.template(post.template)
    data = card_data(session, member.id, photo_side=photo_side(template, formats), file=file)
    cards = {card.format: card for card in renderer.render(data, post.template, formats)}
    main = cards[CARD_FORMAT[post.channel]]
    caption = writer.write(
        member,
        post.channel,
        campaign.language,
        campaign=CampaignInfo(campaign.name, campaign.title, tuple(campaign.hashtags)),
        slot=post.slot_at,
        at=now,
    )
    post.card_path = stored(main.path)
    thumbnail = cards.get(THUMBNAIL_FORMAT.get(post.channel, ""))
    post.thumbnail_path = stored(thumbnail.path) if thumbnail else None
    post.low_resolution = any(card.low_resolution for card in cards.values())
    post.caption = caption.text
    post.title = caption.title or None
    post.tags = list(caption.tags) if post.channel == Channel.YOUTUBE else None
    post.caption_lang = caption.lang
    notes = [note for card in cards.values() for note in card.notes]
    notes += [f"caption: left out {o}" for o in caption.omitted]
    notes += [f"caption: {cut.field} shortened ({cut.reason})" for cut in caption.cuts]
    if post.low_resolution:
        notes.insert(0, "photo upscaled more than 2x: low resolution")
    if post.channel == Channel.INSTAGRAM:
        post.alt_text = caption.alt_text or None
        post.user_tags = caption.user_tags or None
        post.slides = (
            _slides(session, renderer, data, member, campaign.language, stored, file) or None
        )
        if post.slides:
            notes.append(f"carousel: the card and {len(post.slides)} more photo(s)")
    post.compose_notes = notes
    move(session, post, PostState.COMPOSED, actor="compose", now=now)
    result.composed.append(post.id or 0)
    if campaign.auto_approve:
        move(
            session,
            post,
            PostState.APPROVED,
            actor="auto-approve",
            now=now,
            note=f"campaign {campaign.name} approves automatically",
        )
        post.reviewed_by, post.reviewed_at = "auto-approve", now
        result.approved.append(post.id or 0)


def _slides(
    session: Session,
    renderer: Renderer,
    data: CardData,
    member: Member,
    lang: str,
    stored: Callable[[Path], str],
    file: Callable[[str], Path],
) -> list[dict[str, str]]:
    """The member's other photos as Instagram carousel slides after the card, each with alt
    text: the member's own description of the photo, else what it is."""
    made = []
    for slide in slides(session, data, file=file):
        (card,) = renderer.render(slide.data, SLIDE_TEMPLATE, ["ig_portrait"])
        alt = slide.alt or f"{member.business_name}: {_PRODUCT_PHOTO.get(lang, 'foto produk')}"
        made.append({"path": stored(card.path), "alt": alt})
    return made
