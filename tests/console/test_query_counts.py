"""Each list page asks the database the same number of statements with 5 members' posts as
with 50: no query per row (the bench's 10,000 members and 50,000 posts would multiply one).
Counted with a cursor-execute listener on the console's engine, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from ifn_campaign.models import NoticeContact, NoticeState, PostEvent, PostState
from tests.support.console import ConsoleWorld, console_world, settings_for
from tests.support.ledger import add_member, add_post
from tests.support.member_rows import add_notice

NOW = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)  # Tuesday 09:00 WIB
# the list pages; each lists members or posts (or both) when there are some
PAGES = ["/", "/review", "/calendar", "/failures", "/members", "/activity", "/fairness", "/notices"]
STATES = [PostState.COMPOSED, PostState.FAILED, PostState.PLANNED, PostState.PUBLISHED]


def _add(session: Session, first: int, last: int) -> None:
    """Members first..last-1, each with a post in every state of STATES this week (the
    published one featured), an event per post, a notice in every state and a refused
    address."""
    for number in range(first, last):
        member = f"ifn-{number:04d}"
        add_member(session, member, business_name=f"Sepatu {number}")
        for notice_state in NoticeState:
            add_notice(session, member, f"{member}-{notice_state.value}", notice_state.value)
        session.add(NoticeContact(member_id=member, medium="email", refused_address="x@y.test"))
        for index, post_state in enumerate(STATES):
            published = post_state == PostState.PUBLISHED
            slot = NOW + timedelta(hours=(-20 if published else 2) + index, minutes=number)
            post = add_post(
                session,
                member,
                post_state,
                ("instagram", "facebook")[index % 2],
                slot_at=slot,
                caption=f"Kenalan dengan {member}",
                featured_at=slot if published else None,
                permalink="https://instagram.example/p/1" if published else None,
            )
            session.add(
                PostEvent(
                    post_id=post,
                    at=NOW - timedelta(minutes=number),
                    to_state=post_state,
                    actor="staff:admin-user",
                )
            )
    session.commit()


@pytest.fixture
def world(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[ConsoleWorld]:
    with console_world(settings_for(db_url, tmp_path), clock=lambda: NOW) as found:
        yield found


def _counts(world: ConsoleWorld) -> dict[str, int]:
    """Statements per page, as the admin (who sees every page)."""
    admin = world.client("admin")
    admin.get("/me")  # signed in before counting
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    engine = world.resources.engine
    counts: dict[str, int] = {}
    event.listen(engine, "before_cursor_execute", count)
    try:
        for page in PAGES:
            statements.clear()
            answer = admin.get(page)
            assert answer.status_code == 200, page
            counts[page] = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return counts


@pytest.mark.slow
def test_list_pages_ask_as_many_statements_for_50_members_as_for_5(world: ConsoleWorld) -> None:
    with world.session() as session:
        _add(session, 1, 6)
    few = _counts(world)
    with world.session() as session:
        _add(session, 6, 51)
    many = _counts(world)
    assert many == few
    admin = world.client("admin")
    for page in (
        "/members?q=Sepatu+50",
        "/review",
        "/failures",
        "/notices",
    ):  # the rows were listed
        assert "Sepatu 50" in admin.get(page).text, page
