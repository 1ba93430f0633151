"""Reading figures from the platforms, many posts a call, on the publisher's clients.

- Instagram and Facebook: the Graph API's field expansion, `GET /?ids=a,b,...&fields=...`, up to
  50 ids a call, with the account's own token. If any id no longer exists the whole call fails
  with code 803 naming them: those are gone, and the rest is asked again at once.
- YouTube: `videos.list part=statistics`, 50 ids a call, 1 quota unit; a video missing from the
  answer is gone.

Each id comes back with its figures (metric name -> integer, under the platform's own names:
Meta's metric names, Facebook's `reactions`, `comments`, `shares` from the post's fields,
YouTube's `views`, `likes`, `comments`), as asked again later with the reason (Meta's empty data
set: too early, or a scheduled post not out yet; an answer that left it out or could not be
trusted), or as gone. An answer is material to check, never to trust: a value that is not a
whole count the columns hold, or not the post's lifetime figure, is left out with the reason in
`notes`, and never fails the batch it came in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ifn_campaign.channels.channel import Channel
from ifn_campaign.channels.graph import GraphClient
from ifn_campaign.channels.youtube import YouTubeClient
from ifn_campaign.errors import GraphError, GraphNotFound, GraphPermissionMissing

__all__ = [
    "FACEBOOK_METRICS",
    "INSTAGRAM_METRICS",
    "BatchResult",
    "graph_fields",
    "read_graph",
    "read_youtube",
    "valid_remote_id",
]

INSTAGRAM_METRICS = ("reach", "views", "likes", "comments", "saved", "shares", "total_interactions")
"""Instagram media insights of Graph v22.0 on (`impressions`, `plays` and the reels play counts
were retired on 2025-04-21)."""
FACEBOOK_METRICS = ("post_total_media_view_unique", "post_total_media_view")
"""Facebook Page post insights (the `post_impressions*` metrics were retired on 2025-06-15)."""
MAX_FIGURE = 2**31 - 1
"""The largest figure stored (the INTEGER of insight_metric.value and insight_reading.reach)."""
YOUTUBE_STATISTICS = {"viewCount": "views", "likeCount": "likes", "commentCount": "comments"}

_GRAPH_ID = re.compile(r"[0-9]{1,40}(?:_[0-9]{1,40})?")
_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_GONE_IDS = re.compile(r"do not exist:\s*(.+)$", re.S)
_MISSING_OBJECT = re.compile(r"Object with ID '([0-9_]{1,81})' does not exist")


NO_DATA = "no data yet (the platform has no figures for it so far)"
LEFT_OUT = "the platform's answer left this post out"
UNSEEN = (
    "the platform says it does not exist, but this token cannot see the account itself either "
    "(a token of another Page or account, or a permission lost): not taken for gone. Check the "
    "account's token (`ifn-campaign doctor`)"
)


@dataclass
class BatchResult:
    """What one batch gave: figures by remote id, the ids to ask again later and why (no data
    yet, left out of the answer, an answer that cannot be trusted), the ids the platform no
    longer has, the values left out of a post's figures and why (`notes`), and how many calls
    it took."""

    figures: dict[str, dict[str, int]] = field(default_factory=dict)
    again: dict[str, str] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    notes: dict[str, list[str]] = field(default_factory=dict)
    calls: int = 0


def valid_remote_id(channel: Channel, remote_id: str) -> bool:
    """Whether a stored remote id can go into a batch call (digits, digits_digits for Graph;
    YouTube's letters, digits, - and _): a comma or a slash would change what is asked."""
    pattern = _VIDEO_ID if channel == Channel.YOUTUBE else _GRAPH_ID
    return bool(pattern.fullmatch(remote_id))


def graph_fields(channel: Channel) -> str:
    """The `fields` parameter of a field-expansion read for the channel's posts."""
    if channel == Channel.INSTAGRAM:
        return f"insights.metric({','.join(INSTAGRAM_METRICS)})"
    return (
        f"insights.metric({','.join(FACEBOOK_METRICS)}),"
        "reactions.summary(true).limit(0),comments.summary(true).limit(0),shares"
    )


def read_graph(
    client: GraphClient,
    channel: Channel,
    remote_ids: Sequence[str],
    account_id: str | None = None,
) -> BatchResult:
    """One batch (at most 50 ids of one account) through field expansion. Code 803 (or 100/33
    naming one of them) says which ids do not exist: they are gone and the others are asked
    again in the same run, so the loop ends within one call per id. Any other error is raised
    for the caller (rate limits, token, 5xx after the client's retries).

    Those codes also mean "cannot be loaded due to missing permissions": a batch of one post
    coming back gone is taken for gone only once the token can see the account (`account_id`,
    the IG user or the Page) itself; else it is asked again (`UNSEEN`). A bigger batch gone as
    a whole is the reader's to judge (`reader.ALL_GONE`)."""
    result = _read_graph(client, channel, remote_ids)
    lone = set(remote_ids)
    if account_id is None or len(lone) != 1 or result.gone != lone:
        return result
    result.calls += 1
    try:
        client.get(f"/{account_id}", fields="id")
    except (GraphNotFound, GraphPermissionMissing):
        pass  # the token cannot see the account: no proof the post is gone
    except GraphError as error:
        if error.code != 803:
            raise
    else:
        return result
    result.gone.clear()
    result.again.update(dict.fromkeys(lone, UNSEEN))
    return result


def _read_graph(client: GraphClient, channel: Channel, remote_ids: Sequence[str]) -> BatchResult:
    result = BatchResult()
    asking = list(dict.fromkeys(remote_ids))
    fields = graph_fields(channel)
    while asking:
        result.calls += 1
        try:
            body = client.get("/", ids=",".join(asking), fields=fields)
        except GraphError as error:
            gone = _gone_ids(error, asking)
            if not gone:
                raise
            result.gone |= gone
            asking = [i for i in asking if i not in gone]
            continue
        for remote_id in asking:
            node = body.get(remote_id)
            if not isinstance(node, Mapping):
                # Meta answers for every id it has and fails the call (803) for one it has not:
                # an answer leaving one out is not proof it is gone, so it is asked again later
                result.again[remote_id] = LEFT_OUT
                continue
            notes: list[str] = []
            figures = _graph_figures(channel, node, notes)
            if notes:
                result.notes[remote_id] = notes
            if figures:
                result.figures[remote_id] = figures
            else:
                result.again[remote_id] = (
                    f"no figure could be used: {'; '.join(notes)}" if notes else NO_DATA
                )
        break
    return result


def _gone_ids(error: GraphError, asked: Sequence[str]) -> set[str]:
    """The ids the error says do not exist, among those asked: those code 803 lists, the one
    a 100/33 names ("Object with ID '...' does not exist"), or the only id asked. An unrelated
    id in the message is not trusted; a message naming none of ours is not a gone post."""
    if isinstance(error, GraphNotFound):
        found = _MISSING_OBJECT.search(error.message or "")
        if found is not None:
            return {i for i in asked if i == found.group(1)}
        return set(asked) if len(asked) == 1 else set()
    if error.code != 803 or not error.message:
        return set()
    found = _GONE_IDS.search(error.message)
    if found is None:
        return set()
    named = {part.strip().strip(".") for part in found.group(1).split(",")}
    return {i for i in asked if i in named}


def _graph_figures(channel: Channel, node: Mapping[str, Any], notes: list[str]) -> dict[str, int]:
    """The post's figures from its node; what is left out, and why, goes to `notes`. Nothing at
    all (Meta's empty data set) is no figures, not zeros."""
    insights = node.get("insights")
    data = insights.get("data") if isinstance(insights, Mapping) else None
    asked = INSTAGRAM_METRICS if channel == Channel.INSTAGRAM else FACEBOOK_METRICS
    figures: dict[str, int] = {}
    for entry in data if isinstance(data, list) else []:
        # only the metrics asked for: a name the answer adds is not ours to store (nor one
        # longer than insight_metric.metric holds, which would fail the batch's commit)
        if not isinstance(entry, Mapping) or entry.get("name") not in asked:
            continue
        name = str(entry["name"])
        period = entry.get("period", "lifetime")
        if period != "lifetime":
            # a day's or a week's value is not the post's count so far
            notes.append(f"{name} left out: its period is {_shown(period)}, not lifetime")
            continue
        values = entry.get("values")
        last = values[-1] if isinstance(values, list) and values else None
        if not isinstance(last, Mapping):
            continue  # no value: nothing yet for this metric
        _take(figures, notes, name, last.get("value"))
    if not figures:
        return {}
    if channel == Channel.FACEBOOK:
        for name in ("reactions", "comments"):
            edge = node.get(name)
            summary = edge.get("summary") if isinstance(edge, Mapping) else None
            if isinstance(summary, Mapping) and "total_count" in summary:
                _take(figures, notes, name, summary.get("total_count"))
        shares = node.get("shares")
        if shares is None:
            figures["shares"] = 0  # absent when nobody shared, as on the real API
        else:
            _take(
                figures,
                notes,
                "shares",
                shares.get("count") if isinstance(shares, Mapping) else shares,
            )
    return figures


def read_youtube(client: YouTubeClient, video_ids: Sequence[str]) -> BatchResult:
    """One videos.list call for up to 50 videos (1 quota unit). A video missing from a whole
    answer (a video list, not cut into pages) is gone; an answer that is not one (a proxy's
    page, no `items` list, a `nextPageToken` nobody asked for) proves nothing, and its videos
    are asked again later. Errors (quotaExceeded, 5xx after the client's retries, a dead
    token) are raised."""
    asking = list(dict.fromkeys(video_ids))
    body = client.video_statistics(asking)
    result = BatchResult(calls=1)
    items = body.get("items") if isinstance(body, Mapping) else None
    if not isinstance(items, list):
        why = "YouTube's answer was not a video list (no 'items' list): nothing in it was used"
        result.again = dict.fromkeys(asking, why)
        return result
    stats: dict[str, Any] = {}
    twice: set[str] = set()
    for item in items:
        if not isinstance(item, Mapping) or item.get("id") not in asking:
            continue  # an id we did not ask for is not ours to store
        video_id = str(item["id"])
        found = item.get("statistics")
        if video_id in stats and stats[video_id] != found:
            twice.add(video_id)
        stats[video_id] = found
    paged = body.get("nextPageToken") is not None
    for video_id in asking:
        if video_id in twice:
            result.again[video_id] = (
                "YouTube's answer gave this video twice, with different figures"
            )
            continue
        if video_id not in stats:
            if paged:
                result.again[video_id] = (
                    "YouTube's answer was cut into pages (nextPageToken) without this video: "
                    "not proof it is gone"
                )
            else:
                result.gone.add(video_id)
            continue
        found = stats[video_id]
        notes: list[str] = []
        figures: dict[str, int] = {}
        if not isinstance(found, Mapping):
            notes.append(f"statistics left out: {_shown(found)} is not an object")
            found = {}
        for theirs, ours in YOUTUBE_STATISTICS.items():
            if theirs in found:  # likeCount is absent while the owner hides likes
                _take(figures, notes, ours, found[theirs], theirs)
        if notes:
            result.notes[video_id] = notes
        if "views" in figures:
            result.figures[video_id] = figures
        else:
            result.again[video_id] = (
                f"no view count could be used: {'; '.join(notes)}" if notes else NO_DATA
            )
    return result


def _take(
    figures: dict[str, int], notes: list[str], name: str, value: Any, theirs: str | None = None
) -> None:
    """Store `value` as the figure `name` if it is a whole count the columns hold, else say in
    `notes` why it was left out (never stored wrong, never failing the batch)."""
    number = _count(value)
    if number is None:
        notes.append(
            f"{theirs or name} left out: {_shown(value)} is not a whole count (0 .. {MAX_FIGURE:,})"
        )
    else:
        figures[name] = number


def _count(value: Any) -> int | None:
    """A figure as an integer (YouTube sends strings), or None for anything that is not a
    whole count the figure columns hold (0 .. 2**31-1)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        value = int(value)
    if isinstance(value, int) and 0 <= value <= MAX_FIGURE:
        return value
    return None


def _shown(value: Any) -> str:
    """A platform's value in a note: JSON, cut short (it may be huge or hostile)."""
    try:
        text = json.dumps(value, ensure_ascii=True, default=str)
    except ValueError:  # a float too deep or odd to encode
        text = type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."
