"""Reading figures from the platforms, many posts a call, on the publisher's clients.

- Instagram and Facebook: the Graph API's field expansion, `GET /?ids=a,b,...&fields=...`, up to
  50 ids a call, with the account's own token. If any id no longer exists the whole call fails
  with code 803 naming them: those are gone, and the rest is asked again at once.
- YouTube: `videos.list part=statistics`, 50 ids a call, 1 quota unit; a video missing from the
  answer is gone.

Each id comes back as `Figures` (metric name -> integer, under the platform's own names: Meta's
metric names, Facebook's `reactions`, `comments`, `shares` from the post's fields, YouTube's
`views`, `likes`, `comments`), None (Meta's empty data set: too early, or a scheduled post not
out yet), or it is listed as gone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ifn_campaign.channels.channel import Channel
from ifn_campaign.channels.graph import GraphClient
from ifn_campaign.channels.youtube import YouTubeClient
from ifn_campaign.errors import GraphError

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


@dataclass
class BatchResult:
    """What one batch gave: figures by remote id (None: no data yet, an empty data set), the
    ids the platform no longer has, those its answer left out, and how many calls it took."""

    figures: dict[str, dict[str, int] | None] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    unanswered: set[str] = field(default_factory=set)
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
) -> BatchResult:
    """One batch (at most 50 ids of one account) through field expansion. Code 803 names the
    ids that do not exist: they are gone and the others are asked again in the same run. Any
    other error is raised for the caller (rate limits, token, 5xx after the client's retries)."""
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
                result.unanswered.add(remote_id)
                continue
            result.figures[remote_id] = _graph_figures(channel, node)
        break
    return result


def _gone_ids(error: GraphError, asked: Sequence[str]) -> set[str]:
    """The ids code 803 says do not exist, among those asked (an unrelated id in the message
    is not trusted; a message naming none of ours is not a gone post)."""
    if error.code != 803 or not error.message:
        return set()
    found = _GONE_IDS.search(error.message)
    if found is None:
        return set()
    named = {part.strip().strip(".") for part in found.group(1).split(",")}
    return {i for i in asked if i in named}


def _graph_figures(channel: Channel, node: Mapping[str, Any]) -> dict[str, int] | None:
    insights = node.get("insights")
    data = insights.get("data") if isinstance(insights, Mapping) else None
    asked = INSTAGRAM_METRICS if channel == Channel.INSTAGRAM else FACEBOOK_METRICS
    figures: dict[str, int] = {}
    for entry in data if isinstance(data, list) else []:
        # only the metrics asked for: a name the answer adds is not ours to store (nor one
        # longer than insight_metric.metric holds, which would fail the batch's commit)
        if not isinstance(entry, Mapping) or entry.get("name") not in asked:
            continue
        values = entry.get("values")
        last = values[-1] if isinstance(values, list) and values else None
        number = _count(last.get("value")) if isinstance(last, Mapping) else None
        if number is not None:
            figures[entry["name"]] = number
    if not figures:
        return None  # Meta's empty data set: not zeros, nothing yet
    if channel == Channel.FACEBOOK:
        for name in ("reactions", "comments"):
            edge = node.get(name)
            summary = edge.get("summary") if isinstance(edge, Mapping) else None
            total = _count(summary.get("total_count")) if isinstance(summary, Mapping) else None
            if total is not None:
                figures[name] = total
        shares = node.get("shares")
        # absent when nobody shared, as on the real API
        figures["shares"] = (_count(shares.get("count")) if isinstance(shares, Mapping) else 0) or 0
    return figures


def read_youtube(client: YouTubeClient, video_ids: Sequence[str]) -> BatchResult:
    """One videos.list call for up to 50 videos (1 quota unit); a video missing from the answer
    is gone. Errors (quotaExceeded, 5xx after the client's retries, a dead token) are raised."""
    asking = list(dict.fromkeys(video_ids))
    stats = client.video_statistics(asking)
    result = BatchResult(calls=1)
    for video_id in asking:
        found = stats.get(video_id)
        if found is None:
            result.gone.add(video_id)
            continue
        figures = {
            ours: number
            for theirs, ours in YOUTUBE_STATISTICS.items()
            if (number := _count(found.get(theirs))) is not None
        }
        result.figures[video_id] = figures if "views" in figures else None
    return result


def _count(value: Any) -> int | None:
    """A figure as an integer (YouTube sends strings), or None for anything that is not a
    whole count the figure columns hold (0 .. 2**31-1): such a value is left out, never
    stored wrong, and never fails the batch it came in."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        value = int(value)
    if isinstance(value, int) and 0 <= value <= MAX_FIGURE:
        return value
    return None
