"""Exports: the calendar and ledger CSV files (parsed back, formula injection neutralised, the
page's filters), and the private iCalendar feed (parsed back with icalendar, one event per
post; a revoked token, a replaced one or a disabled user's one is 404; the token stays out of
the access log)."""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from icalendar import Calendar
from sqlalchemy import Engine

from ifn_campaign.console.pages.exports import HideFeedToken, csv_bytes, csv_cell
from ifn_campaign.console.users import disable_user
from ifn_campaign.models import StaffUser
from tests.support.console import USERS, ConsoleWorld, console_world
from tests.support.console_calendar import (
    HOSTILE,
    NOW,
    WEEK,
    Week,
    add_week,
    at,
    calendar_settings,
)
from tests.support.ledger import add_post

_FEED = re.compile(r'value="(http://127\.0\.0\.1/feed/([A-Za-z0-9_-]+)\.ics)"')


@pytest.fixture
def cal(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[tuple[ConsoleWorld, Week]]:
    with console_world(calendar_settings(db_url, tmp_path), clock=lambda: NOW) as world:
        with world.session() as session:
            week = add_week(session)
        yield world, week


def rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for spreadsheet apps
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_csv_cell_neutralises_formulas() -> None:
    for bad in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert csv_cell(bad) == "'" + bad
    assert csv_cell("Sepatu = bagus") == "Sepatu = bagus"
    assert csv_cell(None) == "" and csv_cell(12) == "12"


def test_calendar_csv_holds_the_pages_rows(cal: tuple[ConsoleWorld, Week]) -> None:
    world, week = cal
    answer = world.client("viewer").get(f"/exports/calendar.csv?view=week&start={WEEK}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == (
        'attachment; filename="calendar-20261221-20261227.csv"'
    )
    found = rows(answer.content)
    by_id = {int(r["post"]): r for r in found}
    assert set(by_id) == {
        week.published,
        week.planned,
        week.composed,
        week.approved,
        week.failed,
        week.scheduled,
    }
    planned = by_id[week.planned]
    assert planned["slot (WIB)"] == "2026-12-22 19:00"
    assert planned["slot (UTC)"] == "2026-12-22T12:00:00Z"
    assert planned["state"] == "planned" and planned["member"] == "Sepatu Cibaduyut Jaya"
    assert planned["channel"] == "instagram" and planned["account"] == "bpipi-instagram"
    # the hostile name is kept as text, its leading = made harmless
    assert by_id[week.approved]["member"] == "'" + HOSTILE


def test_calendar_csv_filters(cal: tuple[ConsoleWorld, Week]) -> None:
    world, week = cal
    client = world.client("viewer")
    facebook = rows(
        client.get(f"/exports/calendar.csv?start={WEEK}&account=facebook/bpipi-facebook").content
    )
    assert [int(r["post"]) for r in facebook] == [week.failed]
    cancelled = rows(client.get(f"/exports/calendar.csv?start={WEEK}&state=cancelled").content)
    assert [int(r["post"]) for r in cancelled] == [week.cancelled]
    month = rows(client.get("/exports/calendar.csv?view=month&start=2026-12-01").content)
    assert len(month) == 6
    empty = rows(client.get("/exports/calendar.csv?start=2027-03-01").content)
    assert empty == []
    assert client.get("/exports/calendar.csv?account=nope").status_code == 400


def test_calendar_page_links_its_export(cal: tuple[ConsoleWorld, Week]) -> None:
    world, _ = cal
    html = world.client("viewer").get(f"/calendar?start={WEEK}&account=all&state=failed").text
    assert (
        f'href="/exports/calendar.csv?view=week&amp;start={WEEK}&amp;account=all&amp;state=failed"'
        in html
    )
    assert 'href="/exports/ledger.csv"' in html


def test_ledger_csv(cal: tuple[ConsoleWorld, Week]) -> None:
    world, week = cal
    client = world.client("viewer")
    answer = client.get("/exports/ledger.csv")
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == 'attachment; filename="ledger.csv"'
    (row,) = rows(answer.content)
    assert row["post"] == str(week.published)
    assert row["member_id"] == "ifn-0001" and row["member"] == "Sepatu Cibaduyut Jaya"
    assert row["featured (WIB)"] == "2026-12-21 19:01"
    assert row["featured (UTC)"] == "2026-12-21T12:01:00Z"
    assert row["province"] == "Jawa Barat" and row["category"] == "leather_shoes"
    assert row["actor_type"] == "producer" and row["channel"] == "instagram"
    assert row["permalink"] == "https://instagram.example/p/1"
    # the period in display-zone days, both counted; campaign and channel
    assert len(rows(client.get("/exports/ledger.csv?from=2026-12-21&to=2026-12-21").content)) == 1
    assert rows(client.get("/exports/ledger.csv?from=2026-12-22").content) == []
    assert rows(client.get("/exports/ledger.csv?to=2026-12-20").content) == []
    assert len(rows(client.get("/exports/ledger.csv?campaign=sorotan-test").content)) == 1
    assert rows(client.get("/exports/ledger.csv?campaign=other").content) == []
    assert rows(client.get("/exports/ledger.csv?channel=youtube").content) == []
    named = client.get("/exports/ledger.csv?from=2026-12-01&channel=instagram")
    assert 'filename="ledger-2026-12-01-instagram.csv"' in named.headers["content-disposition"]
    assert client.get("/exports/ledger.csv?from=1.12.2026").status_code == 400
    assert client.get("/exports/ledger.csv?from=2026-12-02&to=2026-12-01").status_code == 400
    assert client.get("/exports/ledger.csv?channel=myspace").status_code == 400


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    """`text` cut at each `separator` that stands outside double quotes, as a spreadsheet
    reading a CSV with that list separator cuts it ("" inside quotes is a quote)."""
    pieces, current, quoted = [], [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    return [*pieces, "".join(current)]


def _records(text: str) -> list[str]:
    return [r for r in _split_outside_quotes(text.replace("\r\n", "\n"), "\n") if r]


@given(
    st.lists(
        st.lists(
            st.one_of(
                st.text(alphabet=st.sampled_from("ab ;,=+-@\"'\t\r\n1("), max_size=12),
                st.integers(),
                st.none(),
            ),
            min_size=1,
            max_size=4,
        ),
        min_size=1,
        max_size=4,
    )
)
@example([["Toko;=1+1", None], ["a;b", "CV Maju;@SUM(A1)"]])
def test_no_list_separator_turns_a_cell_into_a_formula(table: list[list[object]]) -> None:
    """Excel in an Indonesian (or any European) locale splits CSV on ';': a member named
    `Toko;=1+1` must not become a cell `=1+1` there; and the file still reads back exactly in
    a comma locale."""
    text = csv_bytes(["a", "b", "c", "d"], table).decode("utf-8-sig")
    for line in _records(text):
        for piece in _split_outside_quotes(line, ";")[1:]:  # what a ';' locale makes a cell of
            assert not piece.lstrip('"').startswith(_FORMULA), piece
    back = list(csv.reader(io.StringIO(text, newline="")))[1:]
    assert back == [[csv_cell(v) for v in row] for row in table]


def test_ledger_csv_neutralises_a_hostile_name(cal: tuple[ConsoleWorld, Week]) -> None:
    world, _ = cal
    with world.session() as session:
        add_post(session, "ifn-0666", "published", campaign="sorotan-test", featured_at=at(20, 10))
        session.commit()
    found = rows(world.client("viewer").get("/exports/ledger.csv").content)
    assert found[0]["member"] == "'" + HOSTILE


def test_exports_need_a_login(cal: tuple[ConsoleWorld, Week]) -> None:
    world, _ = cal
    for url in ("/exports/calendar.csv", "/exports/ledger.csv"):
        answer = world.anonymous().get(url)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def new_feed(world: ConsoleWorld, role: str = "viewer") -> tuple[str, str]:
    answer = world.post(role, "/me/feed")
    assert answer.status_code == 200
    found = _FEED.search(answer.text)
    assert found, "the new address is shown"
    return found.group(1), found.group(2)


def test_feed_is_one_event_per_post(cal: tuple[ConsoleWorld, Week]) -> None:
    world, week = cal
    url, token = new_feed(world)
    answer = world.anonymous().get(url)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(answer.content)
    events = {e["uid"]: e for e in calendar.walk("VEVENT")}
    ids = [week.published, week.planned, week.composed, week.approved, week.failed, week.scheduled]
    assert set(events) == {f"post-{i}@ifn-campaign" for i in ids}  # not the cancelled one
    planned = events[f"post-{week.planned}@ifn-campaign"]
    assert planned.decoded("dtstart") == at(22, 19)
    assert planned.decoded("dtstart").utcoffset().total_seconds() == 0
    assert str(planned["summary"]) == "instagram/bpipi-instagram: Sepatu Cibaduyut Jaya"
    assert "State: planned" in str(planned["description"])
    assert "Kenalan dengan ifn-0001" in str(planned["description"])
    hostile = events[f"post-{week.approved}@ifn-campaign"]
    assert str(hostile["summary"]) == f"instagram/bpipi-instagram: {HOSTILE}"
    # the same UIDs on the next refresh
    again = Calendar.from_ical(world.anonymous().get(f"/feed/{token}.ics").content)
    assert {e["uid"] for e in again.walk("VEVENT")} == set(events)
    # only the digest is stored
    with world.session() as session:
        user = session.query(StaffUser).filter(StaffUser.name == USERS["viewer"]).one()
        assert user.feed_token_sha256 and token not in user.feed_token_sha256


def test_feed_revoked_replaced_unknown_and_disabled_are_404(
    cal: tuple[ConsoleWorld, Week],
) -> None:
    world, _ = cal
    anonymous = world.anonymous()
    _, first = new_feed(world)
    _, second = new_feed(world)
    assert anonymous.get(f"/feed/{first}.ics").status_code == 404  # replaced
    assert anonymous.get(f"/feed/{second}.ics").status_code == 200
    revoked = world.post("viewer", "/me/feed/revoke")
    assert revoked.status_code == 200 and "Anda belum memiliki alamat umpan." in revoked.text
    assert anonymous.get(f"/feed/{second}.ics").status_code == 404
    assert anonymous.get("/feed/not-a-token.ics").status_code == 404
    assert anonymous.get(f"/feed/{'x' * 300}.ics").status_code == 404
    _, editors = new_feed(world, "editor")
    assert anonymous.get(f"/feed/{editors}.ics").status_code == 200
    with world.session() as session:
        disable_user(session, USERS["editor"], now=NOW)
        session.commit()
    answer = anonymous.get(f"/feed/{editors}.ics")
    assert answer.status_code == 404 and editors not in answer.text


def test_feed_actions_need_the_form_token_and_a_login(cal: tuple[ConsoleWorld, Week]) -> None:
    world, _ = cal
    client = world.client("viewer")
    assert client.post("/me/feed").status_code == 403
    assert client.post("/me/feed/revoke", data={"csrf": "x" * 40}).status_code == 403
    assert world.anonymous().post("/me/feed").status_code == 401
    with world.session() as session:
        user = session.query(StaffUser).filter(StaffUser.name == USERS["viewer"]).one()
        assert user.feed_token_sha256 is None


def test_me_page_says_whether_a_feed_is_active(cal: tuple[ConsoleWorld, Week]) -> None:
    world, _ = cal
    client = world.client("viewer")
    html = client.get("/me").text
    assert 'action="/me/feed"' in html and 'id="feed"' in html
    assert "Anda belum memiliki alamat umpan." in html and 'action="/me/feed/revoke"' not in html
    _, token = new_feed(world)
    html = client.get("/me").text
    assert "Anda memiliki alamat umpan yang aktif." in html and 'action="/me/feed/revoke"' in html
    assert token not in html  # shown once only


def test_access_log_never_shows_the_token() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/feed/s3cr3t-T0ken_x.ics", "1.1", 200),
        None,
    )
    assert HideFeedToken().filter(record)
    line = record.getMessage()
    assert "s3cr3t" not in line and "/feed/***.ics" in line
    assert logging.getLogger("uvicorn.access").filters  # installed by importing the page
