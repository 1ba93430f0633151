"""The calendar page: week and month grids in WIB with holidays, blackout dates, free slots and
each post's card, state and member; moving a post through the form (and each refusal the CLI
gives), role and form-token checks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update

from ifn_campaign.models import Post, PostEvent
from tests.support.console import ConsoleWorld, console_world, form_token
from tests.support.console_calendar import (
    HOSTILE,
    KEY,
    NOW,
    WEEK,
    Week,
    add_week,
    at,
    calendar_settings,
)
from tests.support.ledger import add_post


@pytest.fixture
def cal(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[tuple[ConsoleWorld, Week]]:
    with console_world(calendar_settings(db_url, tmp_path), clock=lambda: NOW) as world:
        with world.session() as session:
            week = add_week(session)
        yield world, week


def page(world: ConsoleWorld, query: str, role: str = "viewer") -> str:
    answer = world.client(role).get(f"/calendar?{query}")
    assert answer.status_code == 200, answer.text
    return answer.text


def day_html(html: str, day: str) -> str:
    """The HTML of one day's cell (its section)."""
    found = re.search(rf'<section [^>]*aria-labelledby="d-{day}">(.*?)</section>', html, re.S)
    assert found, f"no cell for {day}"
    return found.group(1)


def card(html: str, post_id: int) -> str:
    found = re.search(rf'<li class="post" id="post-{post_id}"(.*?)</li>', html, re.S)
    assert found, f"post {post_id} not on the page"
    return found.group(1)


def slot_of(world: ConsoleWorld, post_id: int) -> Any:
    with world.session() as session:
        post = session.get(Post, post_id)
        assert post is not None
        return post.slot_at


def move(world: ConsoleWorld, post_id: int, when: str, role: str = "editor", **extra: Any) -> Any:
    with world.session() as session:
        post = session.get(Post, post_id)
        assert post is not None
        version = post.version
    data = {"post": post_id, "version": version, "at": when, "next": f"/calendar?start={WEEK}"}
    data.update(extra)
    return world.post(role, "/calendar/move", data)


def flash(world: ConsoleWorld, role: str = "editor") -> str:
    """The page after the redirect, with the action's message."""
    return page(world, f"start={WEEK}", role)


def test_week_shows_every_post_with_its_state_card_and_member(
    cal: tuple[ConsoleWorld, Week],
) -> None:
    world, week = cal
    html = page(world, f"view=week&start={WEEK}")
    for post_id, state in (
        (week.published, "published"),
        (week.planned, "planned"),
        (week.composed, "composed"),
        (week.approved, "approved"),
        (week.failed, "failed"),
        (week.scheduled, "scheduled"),
    ):
        assert f'class="state state-{state}"' in card(html, post_id)
    assert f'id="post-{week.cancelled}"' not in html  # cancelled only when asked for
    composed = card(html, week.composed)
    assert f'src="/cards/{KEY}.jpg"' in composed
    assert "<bdi>Sepatu Cibaduyut Jaya</bdi>" in card(html, week.planned)
    # times in WIB: 19.00 although stored as 12:00 UTC
    assert "19.00" in card(html, week.planned)
    assert "18.30" in card(html, week.failed)
    # the posts sit on their local day
    assert f'id="post-{week.planned}"' in day_html(html, "2026-12-22")
    assert f'id="post-{week.scheduled}"' in day_html(html, "2026-12-26")
    # previous / next weeks
    assert "start=2026-12-14" in html and "start=2026-12-28" in html


def test_hostile_member_name_is_escaped_and_isolated(cal: tuple[ConsoleWorld, Week]) -> None:
    world, week = cal
    html = page(world, f"start={WEEK}", "editor")
    assert "<script>alert(1)</script>" not in html
    assert "<b>" not in card(html, week.approved)
    assert "<bdi>=HYPERLINK(&#34;http://x&#34;)&lt;script&gt;alert(1)&lt;/script&gt;" in card(
        html, week.approved
    )
    assert HOSTILE not in html


def test_holidays_cuti_bersama_and_blackout_marked(cal: tuple[ConsoleWorld, Week]) -> None:
    world, _ = cal
    html = page(world, f"start={WEEK}")
    christmas = day_html(html, "2026-12-25")
    assert "Hari Raya Natal" in christmas  # the viewer reads Indonesian
    assert "Cuti Bersama" in day_html(html, "2026-12-24")
    assert 'class="cal-day holiday' in html
    sunday = day_html(html, "2026-12-27")
    assert "mark-blackout" in sunday and "Sorotan &lt;Uji&gt;" in sunday
    assert "mark-blackout" not in day_html(html, "2026-12-26")
    assert "mark-holiday" not in day_html(html, "2026-12-22")


def test_free_slots_are_the_open_future_ones(cal: tuple[ConsoleWorld, Week]) -> None:
    world, _ = cal
    html = page(world, f"start={WEEK}")
    # Friday's Instagram slot is free (its post was cancelled); Sunday is a blackout date, the
    # Tuesday to Saturday slots hold posts, Monday's has passed
    assert 'data-at="2026-12-25T19:00" data-account="instagram/bpipi-instagram"' in day_html(
        html, "2026-12-25"
    )
    for day in ("2026-12-21", "2026-12-22", "2026-12-24", "2026-12-26", "2026-12-27"):
        assert 'class="free"' not in day_html(html, day), day
    # a failed post keeps its slot (it may be retried): Wednesday's Facebook slot is not free
    assert 'class="free"' not in day_html(html, "2026-12-23")


def test_account_filter(cal: tuple[ConsoleWorld, Week]) -> None:
    world, week = cal
    html = page(world, f"start={WEEK}&account=facebook/bpipi-facebook")
    assert f'id="post-{week.failed}"' in html
    assert f'id="post-{week.planned}"' not in html
    assert 'data-account="instagram/' not in html
    assert '<option value="facebook/bpipi-facebook" selected>' in html
    everything = page(world, f"start={WEEK}&account=all&state=all")
    assert f'id="post-{week.cancelled}"' in everything
    only = page(world, f"start={WEEK}&state=failed")
    assert f'id="post-{week.failed}"' in only and f'id="post-{week.planned}"' not in only
    # the slots of posts not shown are still taken: only Friday's is free
    assert only.count('<li class="free"') == 1
    assert "Unggahan: 1. Slot kosong: 1." in only


def test_month_view(cal: tuple[ConsoleWorld, Week]) -> None:
    world, week = cal
    html = page(world, "view=month&start=2026-12-10")
    assert 'class="cal cal-view-month"' in html
    # December 2026 from Monday 30 November to Sunday 3 January, six weeks
    assert 'aria-labelledby="d-2026-11-30"' in html and 'aria-labelledby="d-2027-01-03"' in html
    assert html.count('<div class="cal-week">') == 5
    assert 'class="cal-day out"' in html  # November's days greyed
    for post_id in (week.published, week.planned, week.scheduled):
        assert f'id="post-{post_id}"' in html
    assert "start=2026-11-01" in html and "start=2027-01-01" in html
    assert "Hari Raya Natal" in day_html(html, "2026-12-25")


def test_month_shows_eight_posts_a_day_and_links_the_week(
    cal: tuple[ConsoleWorld, Week],
) -> None:
    world, _ = cal
    with world.session() as session:
        crowded = [
            add_post(session, "ifn-0001", "approved", campaign="other", slot_at=at(29, 8, 5 * i))
            for i in range(10)
        ]
        session.commit()
    html = page(world, "view=month&start=2026-12-01")
    tuesday = day_html(html, "2026-12-29")
    assert [i for i in crowded if f'id="post-{i}"' in tuesday] == crowded[:8]
    assert "2 lainnya: lihat pekan ini" in tuesday
    assert 'href="/calendar?view=week&amp;start=2026-12-29&amp;account=all"' in tuesday
    assert 'class="free"' not in tuesday  # the week lists them
    week = page(world, "view=week&start=2026-12-29")
    assert all(f'id="post-{i}"' in week for i in crowded)
    assert "Unggahan: 10." in week


def test_bad_query_is_400(cal: tuple[ConsoleWorld, Week]) -> None:
    world, _ = cal
    client = world.client("viewer")
    for query in ("view=year", "start=22-12-2026", "account=myspace/x", "state=lost"):
        assert client.get(f"/calendar?{query}").status_code == 400, query


def test_viewer_sees_no_move_form(cal: tuple[ConsoleWorld, Week]) -> None:
    world, week = cal
    assert 'action="/calendar/move"' not in page(world, f"start={WEEK}", "viewer")
    editor = page(world, f"start={WEEK}", "editor")
    assert 'action="/calendar/move"' in card(editor, week.planned)
    assert 'action="/calendar/move"' not in card(editor, week.published)  # out already
    assert "data-can-move" in editor


def test_anonymous_goes_to_login(cal: tuple[ConsoleWorld, Week]) -> None:
    world, week = cal
    answer = world.anonymous().get(f"/calendar?start={WEEK}")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")
    refused = world.anonymous().post("/calendar/move", data={"post": week.planned})
    assert refused.status_code == 401


def test_move_through_the_form(cal: tuple[ConsoleWorld, Week]) -> None:
    world, week = cal
    answer = move(world, week.planned, "2026-12-25T19:00")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/calendar?start={WEEK}"
    assert slot_of(world, week.planned) == at(25, 19)
    with world.session() as session:
        events = session.query(PostEvent).filter(PostEvent.post_id == week.planned).all()
        assert any(e.actor == "staff:editor-user" for e in events)
    html = flash(world)
    # the message gives the new time as the page does, in the user's language (Indonesian here)
    assert "Jum, 25 Des 2026 19.00." in html and "2026-12-25 19:00" not in html
    assert f'id="post-{week.planned}"' in day_html(html, "2026-12-25")


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("2026-12-24T19:00", "already holds instagram/bpipi-instagram at 2026-12-24 19:00"),
        ("2026-12-25T10:00", "has no room left around 2026-12-25 10:00"),
        ("2026-12-21T10:00", "that time has passed"),
        ("25/12/2026 19:00", "write the time as"),
    ],
)
def test_move_refused_with_the_cli_message(
    cal: tuple[ConsoleWorld, Week], when: str, message: str
) -> None:
    world, week = cal
    answer = move(world, week.planned, when)
    assert answer.status_code == 303
    assert slot_of(world, week.planned) == at(22, 19)  # unchanged
    assert message in flash(world)


def test_move_onto_a_failed_posts_slot_is_refused(cal: tuple[ConsoleWorld, Week]) -> None:
    """A failed post keeps its slot (the database allows one post a slot but cancelled ones):
    the move is refused with the CLI's words, not an error page."""
    world, week = cal
    with world.session() as session:
        session.execute(update(Post).where(Post.id == week.approved).values(state="failed"))
        session.commit()
    answer = move(world, week.planned, "2026-12-24T19:00")
    assert answer.status_code == 303
    assert slot_of(world, week.planned) == at(22, 19)
    assert f"post {week.approved} already holds instagram/bpipi-instagram" in flash(world)


def test_move_refused_when_half_sent(cal: tuple[ConsoleWorld, Week]) -> None:
    world, week = cal
    with world.session() as session:
        session.execute(
            update(Post).where(Post.id == week.approved).values(publish_step="container_created")
        )
        session.commit()
    move(world, week.approved, "2026-12-25T19:00")
    assert slot_of(world, week.approved) == at(24, 19)
    assert "may already have reached the platform" in flash(world)


def test_move_with_a_stale_version_is_a_conflict(cal: tuple[ConsoleWorld, Week]) -> None:
    world, week = cal
    with world.session() as session:
        post = session.get(Post, week.planned)
        assert post is not None
        stale = post.version
    assert move(world, week.scheduled, "2026-12-25T19:00").status_code == 303  # someone else
    # the planned post's form was read before someone moved it elsewhere and back: simulate by
    # bumping its version the way the library does on any change
    with world.session() as session:
        session.execute(update(Post).where(Post.id == week.planned).values(version=stale + 1))
        session.commit()
    move(world, week.planned, "2026-12-26T19:00", version=stale)
    assert slot_of(world, week.planned) == at(22, 19)
    assert f"post {week.planned} was changed by" in flash(world)


def test_viewer_cannot_move(cal: tuple[ConsoleWorld, Week]) -> None:
    world, week = cal
    answer = move(world, week.planned, "2026-12-25T19:00", role="viewer")
    assert answer.status_code == 403
    assert slot_of(world, week.planned) == at(22, 19)


def test_move_needs_the_form_token(cal: tuple[ConsoleWorld, Week]) -> None:
    world, week = cal
    client = world.client("editor")
    data = {"post": week.planned, "at": "2026-12-25T19:00"}
    assert client.post("/calendar/move", data=data).status_code == 403
    assert client.post("/calendar/move", data={**data, "csrf": "x" * 40}).status_code == 403
    assert slot_of(world, week.planned) == at(22, 19)


def test_move_one_post_only(cal: tuple[ConsoleWorld, Week]) -> None:
    world, week = cal
    client = world.client("editor")
    token = form_token(client.get("/me").text)
    answer = client.post(
        "/calendar/move",
        data={"csrf": token, "post": [week.planned, week.approved], "at": "2026-12-25T19:00"},
    )
    assert answer.status_code == 400


def test_empty_database_and_no_campaigns(console: ConsoleWorld) -> None:
    """No posts, the shipped campaigns: the page still renders, with their free slots."""
    html = console.client("viewer").get("/calendar?view=month").text
    assert 'class="cal cal-view-month"' in html
