"""Hostile and broken input on every console door: ids past what the database holds, digits
that are not ASCII ('²'), NUL characters (PostgreSQL refuses them in any query), a Prefect
server answering garbage. Each is a 400 or a message on the page, never the error page (500),
and nothing changes in the database."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, event, make_url, text

from ifn_campaign.console.pages.calendar import parse_local_time
from ifn_campaign.console.web import MAX_ID, whole_number
from ifn_campaign.errors import InvalidValueError, OrchestrationError
from ifn_campaign.models import Post, PostState
from ifn_campaign.orchestration.deployment_runs import DEADLINE_SECONDS, read_deployments, run_now
from tests.support.broken_prefect import broken_prefect_server
from tests.support.console import ConsoleWorld, console_world, form_token, settings_for
from tests.support.console_hostile import HostileData, store_hostile
from tests.support.console_routes import console_routes, database_rows
from tests.support.ledger import add_member, add_post

TOO_BIG = [str(MAX_ID + 1), str(10**30)]  # past PostgreSQL's integer, past SQLite's
NOT_ASCII = ["\u00b2", "\u0661\u0662"]  # '²' (isdigit, int refuses it), Arabic-Indic 12
WIB = ZoneInfo("Asia/Jakarta")


@pytest.fixture
def hostile(
    engine: Engine, db_url: str, tmp_path: Path
) -> Iterator[tuple[ConsoleWorld, HostileData]]:
    with console_world(settings_for(db_url, tmp_path)) as world:
        with world.session() as session:
            data = store_hostile(session)
        yield world, data


def _post_routes(world: ConsoleWorld) -> list[tuple[str, str]]:
    return [
        (route.method, route.path)
        for route in console_routes(world.app)
        if "{post_id}" in route.path
    ]


def test_a_post_id_past_the_database_is_refused(
    hostile: tuple[ConsoleWorld, HostileData],
) -> None:
    """Every route with a post id in its path: 2**31 failed PostgreSQL's query and 10**30
    SQLite's (500 on both before)."""
    world, _ = hostile
    admin = world.client("admin")
    token = form_token(admin.get("/me").text)
    routes = _post_routes(world)
    assert len(routes) >= 10, routes
    for method, path in routes:
        for number in TOO_BIG:
            url = path.replace("{post_id}", number)
            answer = admin.get(url) if method == "GET" else admin.post(url, data={"csrf": token})
            assert answer.status_code == 400, f"{method} {url}: {answer.status_code}"
            assert "post_id" in answer.text


@pytest.mark.parametrize("bad", [*TOO_BIG, *NOT_ASCII])
def test_form_numbers_past_the_database_or_not_ascii_are_refused(
    hostile: tuple[ConsoleWorld, HostileData], bad: str
) -> None:
    """Versions, post ids and pin ids in forms (500 before: int('²') raised, and a huge
    version reached the database's UPDATE)."""
    world, data = hostile
    post = data.post_ids[-1]
    member = data.member_ids[0]
    with world.session() as session:
        before = database_rows(session)
    at = "2026-12-20T19:00"
    forms = [
        (f"/review/{post}/move", {"version": bad, "at": at}),
        (f"/review/{post}/edit", {"version": bad, "caption": "x"}),
        (f"/failures/{post}/retry", {"version": bad}),
        (f"/failures/{post}/publish-now", {"version": bad}),
        (f"/failures/{post}/move", {"version": bad, "at": at}),
        (f"/failures/{post}/cancel", {"version": bad, "reason": "x"}),
        ("/calendar/move", {"post": bad, "version": "1", "at": at}),
        ("/calendar/move", {"post": str(post), "version": bad, "at": at}),
        ("/review/approve", {"post": bad}),
        (f"/members/{member}/unpin", {"pin": bad}),
    ]
    for url, form in forms:
        answer = world.post("admin", url, form)
        assert answer.status_code == 400, f"{url} {form}: {answer.status_code}"
    with world.session() as session:
        assert database_rows(session) == before


def test_a_nul_character_is_refused_before_the_database(
    hostile: tuple[ConsoleWorld, HostileData],
) -> None:
    """PostgreSQL refuses NUL in a query: in a path, a query or a form field it is a 400
    (the error page before, on PostgreSQL)."""
    world, data = hostile
    admin = world.client("admin")
    post = data.post_ids[-1]
    member = data.member_ids[0]
    with world.session() as session:
        before = database_rows(session)
    for url in (
        "/members/%00",
        "/members?q=a%00b",
        "/members?province=a%00",
        "/review?campaign=a%00b",
        "/exports/ledger.csv?campaign=%00",
        "/activity?actor=%00",
    ):
        answer = admin.get(url)
        assert answer.status_code == 400, f"{url}: {answer.status_code}"
        assert "NUL" in answer.text
        assert answer.headers["content-security-policy"]
    forms = [
        (f"/members/{member}/exclude", {"reason": "a\x00b", "until": ""}),
        (f"/members/{member}/include", {"campaign": "\x00"}),
        (f"/review/{post}/reject", {"version": "1", "reason": "x", "campaign": "a\x00"}),
        (f"/review/{post}/edit", {"version": "1", "caption": "a\x00b"}),
        ("/users/%00/disable", {}),
    ]
    for url, form in forms:
        answer = world.post("admin", url, form)
        assert answer.status_code == 400, f"{url}: {answer.status_code}"
    anonymous = world.anonymous()
    token = form_token(anonymous.get("/login").text)
    answer = anonymous.post("/login", data={"csrf": token, "name": "a\x00", "password": "x"})
    assert answer.status_code == 400
    with world.session() as session:
        assert database_rows(session) == before


def test_activity_post_and_page_filters_take_only_what_the_database_holds(
    hostile: tuple[ConsoleWorld, HostileData],
) -> None:
    """`post=99999999999` passed the old 'fewer than 12 digits' check and failed PostgreSQL's
    query; `page=²` failed int()."""
    world, _ = hostile
    admin = world.client("admin")
    for query in ("post=99999999999", f"post={MAX_ID + 1}", "post=\u00b2", "page=\u00b2"):
        answer = admin.get(f"/activity?{query}")
        assert answer.status_code == 200, f"{query}: {answer.status_code}"


@given(st.text(max_size=30))
def test_whole_number_is_an_id_the_database_holds_or_none(text: str) -> None:
    number = whole_number(text)
    if number is not None:
        assert 0 <= number <= MAX_ID
        assert str(number) == text.strip().lstrip("0") or number == 0


@given(st.integers(min_value=0, max_value=MAX_ID))
def test_whole_number_reads_every_id(number: int) -> None:
    assert whole_number(f" {number} ") == number


@given(
    st.one_of(
        st.text(max_size=40),
        st.builds(
            lambda day, seconds, fraction: f"{day}{seconds}{fraction}",
            st.sampled_from(["2026-12-08T19:00", "2026-12-08 19:00", "0000-00-00T00:00"]),
            st.sampled_from(["", ":00", ":\u00b2\u00b2", ":0\u0661", ":05"]),
            st.sampled_from(["", ".000", ".\u00b2", ".", ".0\u00b2"]),
        ),
    )
)
def test_a_typed_time_is_a_time_or_a_message(text: str) -> None:
    """The calendar's and the failures' move field: any text is a time in the display zone or
    InvalidValueError (ValueError from int('²') was the error page)."""
    try:
        found = parse_local_time(text, WIB)
    except InvalidValueError:
        return
    assert found.tzinfo is WIB and found.second == 0


@pytest.mark.parametrize("body", [b"not json", b'{"weird": 1}', b"null"])
def test_run_now_on_a_server_answering_garbage_is_a_message(
    sqlite_engine: Engine, sqlite_url: str, tmp_path: Path, body: bytes
) -> None:
    """A server (or a proxy in front of it) answering 200 with something not Prefect's:
    run now raised JSONDecodeError/ValidationError, the error page. Now the same message as a
    server that fails, and Today still renders."""
    with broken_prefect_server(200, body) as api:
        with pytest.raises(OrchestrationError, match="was not started"):
            run_now(api, "compose")
        with console_world(settings_for(sqlite_url, tmp_path), prefect_api=api) as world:
            assert world.client("viewer").get("/").status_code == 200
            answer = world.post("approver", "/flows/compose/run")
            assert answer.status_code == 303
            page = world.client("approver").get("/").text
            assert "compose/ifn-campaign was not started" in page


@pytest.mark.slow
def test_a_slow_server_costs_today_at_most_its_deadline(
    sqlite_engine: Engine, sqlite_url: str, tmp_path: Path
) -> None:
    """A server that answers after 20 s: Today and run now answer within the deadline."""
    with broken_prefect_server(200, b"null") as warm:
        read_deployments(warm)  # Prefect's client imported once, as in a running console
    with (
        broken_prefect_server(200, b"{}", delay=20) as api,
        console_world(settings_for(sqlite_url, tmp_path), prefect_api=api) as world,
    ):
        viewer = world.client("viewer")
        started = time.monotonic()
        answer = viewer.get("/")
        assert answer.status_code == 200
        assert time.monotonic() - started < DEADLINE_SECONDS + 2
        started = time.monotonic()
        assert world.post("approver", "/flows/compose/run").status_code == 303
        assert time.monotonic() - started < DEADLINE_SECONDS + 4


def test_a_post_id_in_range_still_finds_its_post(
    hostile: tuple[ConsoleWorld, HostileData],
) -> None:
    """The bound refuses only what no post can have: a real id still opens its form."""
    world, data = hostile
    with world.session() as session:
        composed = [
            p.id
            for p in session.query(Post).where(Post.id.in_(data.post_ids))
            if p.state == "composed"
        ]
    answer = world.client("editor").get(f"/review/{composed[0]}/edit")
    assert answer.status_code == 200
    assert world.client("editor").get(f"/review/{MAX_ID}/edit").status_code == 404


def test_a_locked_sqlite_database_is_a_message_and_changes_nothing(
    sqlite_engine: Engine, sqlite_url: str, tmp_path: Path
) -> None:
    """Another writer holds SQLite's lock past the busy timeout (a sync, a backup): the action
    answers 503 saying nothing changed (the error page, 500, before); held briefly, the action
    waits for it and is done."""
    with console_world(settings_for(sqlite_url, tmp_path)) as world:
        with world.session() as session:
            add_member(session, "ifn-0001")
            session.commit()
        engine = world.resources.engine
        world.client("editor")  # signed in before the lock
        engine.dispose()
        event.listen(engine, "connect", _short_busy_timeout)
        form = {"reason": "diminta pemilik", "until": ""}
        with world.session() as session:
            before = database_rows(session)
        lock = sqlite3.connect(
            str(make_url(sqlite_url).database), timeout=5, check_same_thread=False
        )
        lock.execute("BEGIN IMMEDIATE")
        try:
            answer = world.post("editor", "/members/ifn-0001/exclude", form)
        finally:
            lock.rollback()
        assert answer.status_code == 503
        assert "nothing was changed" in answer.text
        with world.session() as session:
            assert database_rows(session) == before
        # held for less than the timeout: the action waits and is done
        lock.execute("BEGIN IMMEDIATE")
        threading.Timer(0.3, lock.rollback).start()
        answer = world.post("editor", "/members/ifn-0001/exclude", form)
        assert answer.status_code == 303
        with world.session() as session:
            assert database_rows(session) != before
        lock.close()


def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
    """A second's wait for SQLite's lock instead of the store's 30, to see the timeout."""
    dbapi_connection.execute("PRAGMA busy_timeout=1000")


BROKEN_NOW = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
BROKEN_PAGES = [
    "/",
    "/members",
    "/members?q=ifn",
    "/members/ifn-0001",
    "/review",
    "/calendar",
    "/failures",
    "/fairness",
    "/activity",
    "/campaigns/sorotan-anggota/dry-run",
    "/exports/ledger.csv",
    "/exports/calendar.csv",
]


@pytest.mark.parametrize("kind", ["year 1", "year 9999", "JSON null"])
def test_a_member_row_with_absurd_values_leaves_every_page_working(
    engine: Engine, db_url: str, tmp_path: Path, kind: str
) -> None:
    """Values no sync writes but a hand edit can: a consent date in year 1 or at the end of
    9999 (in WIB past the year 10000: the pages failed formatting it) and JSON null where a
    list is kept: consent channels (load_candidates failed on them: members, the dry run)."""
    with console_world(settings_for(db_url, tmp_path), clock=lambda: BROKEN_NOW) as world:
        with world.session() as session:
            when = {
                "year 1": datetime(1, 1, 1, tzinfo=UTC),
                "year 9999": datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
            }.get(kind)
            add_member(session, "ifn-0001", **({"consent_granted_at": when} if when else {}))
            for hours, post_state in enumerate(
                [PostState.COMPOSED, PostState.FAILED, PostState.PUBLISHED], start=1
            ):
                published = post_state == PostState.PUBLISHED
                add_post(
                    session,
                    "ifn-0001",
                    post_state,
                    ("instagram", "facebook", "youtube")[hours - 1],
                    slot_at=BROKEN_NOW + timedelta(hours=hours),
                    caption="Kenalan",
                    featured_at=BROKEN_NOW if published else None,
                    card_path="cards/ab/gone.jpg",  # the card file is gone
                )
            session.commit()
            if kind == "JSON null":
                for column in ("consent_channels",):
                    session.execute(text(f"UPDATE member SET {column} = 'null'"))
                session.commit()
        admin = world.client("admin")
        # the member's own page still reads null channels in its template: not this test's
        pages = [p for p in BROKEN_PAGES if not (kind == "JSON null" and p == "/members/ifn-0001")]
        for page in pages:
            answer = admin.get(page)
            assert answer.status_code == 200, f"{kind} {page}: {answer.status_code}"
