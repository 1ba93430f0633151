"""The activity page: the post event log newest first with each filter, a hundred a page, with
the post's member and where it goes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from ifn_campaign.models import Member, Post, PostEvent
from ifn_campaign.posts.activity import kind_of
from tests.support.console import ConsoleWorld
from tests.support.console_campaigns import ATTACK, HOSTILE_NAME, console_at, store_members
from tests.support.planning import campaign, plan

# the log this module writes, besides the planner's 'planned' events at planning.NOW
DAY = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 09.00 WIB


@dataclass
class Log:
    world: ConsoleWorld
    post_ids: list[int]
    hostile_post: int


def write_log(world: ConsoleWorld) -> Log:
    """Six planned posts (the planner's events), then a composing, two staff and a publisher
    event; the first post's member has the hostile name."""
    with world.session() as session:
        store_members(session)
        plan(session, campaign())  # 6 posts, each with the planner's event
        posts = list(session.scalars(select(Post).order_by(Post.id)))
        hostile, other = posts[0], posts[1]
        featured = session.get(Member, hostile.member_id)
        assert featured is not None
        featured.business_name = HOSTILE_NAME
        session.add_all(
            [
                PostEvent(
                    post_id=hostile.id or 0,
                    at=DAY,
                    from_state="planned",
                    to_state="composed",
                    actor="compose",
                ),
                PostEvent(
                    post_id=hostile.id or 0,
                    at=DAY + timedelta(hours=1),
                    from_state="composed",
                    to_state="approved",
                    actor="staff:dewi",
                    note=f"ok {ATTACK}",
                ),
                PostEvent(
                    post_id=other.id or 0,
                    at=DAY + timedelta(days=2),
                    from_state="planned",
                    to_state="cancelled",
                    actor="staff:budi",
                    note="dibatalkan / cancelled: duplikat",
                ),
                PostEvent(
                    post_id=other.id or 0,
                    at=DAY + timedelta(days=3),
                    from_state="approved",
                    to_state="published",
                    actor="flow:0b6d3c1e-0000-4000-8000-000000000001",
                ),
            ]
        )
        session.commit()
        return Log(world, [p.id or 0 for p in posts], hostile.id or 0)


@pytest.fixture
def log(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Log]:
    with console_at(db_url, tmp_path) as world:
        yield write_log(world)


def rows(html: str) -> list[str]:
    """The table's lines, each as its text squeezed."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in body.split("<tr>")[1:]]


def test_the_log_newest_first_with_member_and_where(log: Log) -> None:
    page = log.world.client("viewer").get("/activity")
    assert page.status_code == 200, page.text
    lines = rows(page.text)
    assert len(lines) == 6 + 4
    assert "flow:0b6d3c1e" in lines[0] and "tayang" in lines[0]  # 1 December, newest (published)
    assert "staff:budi" in lines[1] and "duplikat" in lines[1]
    assert (
        "staff:dewi" in lines[2] and "siap ditinjau → disetujui" in lines[2]
    )  # composed → approved
    assert "Sab, 28 Nov 2026 10.00" in lines[2]  # WIB
    assert all("planner" in line for line in lines[4:])  # planned at planning.NOW, the oldest
    assert "sorotan facebook/ bpipi" in lines[0]
    # the hostile member's name and the note are shown as text, never as markup
    assert ATTACK not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert HOSTILE_NAME.split()[0] in page.text


FILTERS = [
    ("actor=DEWI", ["staff:dewi"]),
    ("actor=staff", ["staff:budi", "staff:dewi"]),
    ("kind=staff", ["staff:budi", "staff:dewi"]),
    ("kind=publisher", ["flow:"]),
    ("kind=compose", ["compose"]),
    ("kind=planner", ["planner"] * 6),
    ("kind=sync", []),
    ("kind=other", []),
    ("state=approved", ["staff:dewi"]),
    ("state=cancelled", ["staff:budi"]),
    ("from=2026-11-30", ["flow:", "staff:budi"]),
    ("to=2026-11-28", ["staff:dewi", "compose"] + ["planner"] * 6),
    ("from=2026-11-28&to=2026-11-28", ["staff:dewi", "compose"]),
    ("kind=staff&state=approved&from=2026-11-01", ["staff:dewi"]),
]


def test_each_filter(log: Log) -> None:
    client = log.world.client("viewer")
    for query, expected in FILTERS:  # one log for all: each case is a page read
        page = client.get(f"/activity?{query}")
        assert page.status_code == 200, query
        lines = rows(page.text)
        assert len(lines) == len(expected), (query, lines)
        for line, actor in zip(lines, expected, strict=True):
            assert actor in line, (query, line)


def test_the_post_filter(log: Log) -> None:
    page = log.world.client("viewer").get(f"/activity?post={log.hostile_post}")
    lines = rows(page.text)
    assert len(lines) == 3
    for line, actor in zip(lines, ["staff:dewi", "compose", "planner"], strict=True):
        assert actor in line


def test_values_not_understood_are_said_and_left_out(log: Log) -> None:
    page = log.world.client("viewer").get(
        "/activity?post=abc&state=%3Cb%3E&kind=robot&from=2026-13-01&to=99999-01-01"
    )
    assert page.status_code == 200
    assert page.text.count("tidak dipahami") + page.text.count("not understood") == 5
    assert "&lt;b&gt;" in page.text and "<b>" not in page.text
    assert len(rows(page.text)) == 10  # nothing filtered


def test_a_hundred_a_page(log: Log) -> None:
    with log.world.session() as session:
        session.add_all(
            PostEvent(
                post_id=log.post_ids[i % 6],
                at=DAY + timedelta(days=10, minutes=i),
                from_state="approved",
                to_state="approved",
                actor=f"staff:user{i:03d}",
                note="caption edited",
            )
            for i in range(240)
        )
        session.commit()
    client = log.world.client("viewer")
    first = client.get("/activity?kind=staff")
    lines = rows(first.text)
    assert len(lines) == 100
    assert "staff:user239" in lines[0] and "staff:user140" in lines[99]
    assert 'href="/activity?kind=staff&amp;page=2"' in first.text
    assert 'rel="prev"' not in first.text
    last = client.get("/activity?kind=staff&page=3")
    lines = rows(last.text)
    assert len(lines) == 42  # 240 + dewi and budi
    assert "staff:user000" in lines[39] and "staff:budi" in lines[40]
    assert 'href="/activity?kind=staff&amp;page=2"' in last.text and 'rel="next"' not in last.text
    assert rows(client.get("/activity?kind=staff&page=4").text) == []
    assert len(rows(client.get("/activity?page=x").text)) == 100  # page 1


def test_sign_in_first(log: Log) -> None:
    answer = log.world.anonymous().get("/activity?kind=staff")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Factivity%3Fkind%3Dstaff"


def test_actor_kinds() -> None:
    assert kind_of("staff:dewi") == "staff"
    assert kind_of("flow:0b6d3c1e") == "publisher"
    assert kind_of("publisher:host:12") == "publisher"
    assert kind_of("auto-approve") == "compose"
    assert kind_of("sync") == "sync"
    assert kind_of("planner") == "planner"
    assert kind_of("someone") == "other"
