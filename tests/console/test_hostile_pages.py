"""Every page of the console, rendered as an admin on a database holding hostile member text
(script tags, quotes, RTL overrides, very long words, `{{ }}`, `javascript:` links; see
tests/support/console_hostile.py): member text stays data. The sweep takes every GET route the
app has, so a page that lands is checked without being named here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.console import ConsoleWorld, console_world, settings_for
from tests.support.console_hostile import (
    CAMPAIGN,
    MARK,
    HostileData,
    check_page,
    store_hostile,
)
from tests.support.console_routes import console_routes

# Paths that answer with something other than a page (files, feeds): not HTML to check here.
NOT_PAGES = ("/cards/", "/member-media/", "/posts/{post_id}/short.mp4", "/feed/", "/exports/")


@pytest.fixture
def hostile(
    engine: Engine, db_url: str, tmp_path: Path
) -> Iterator[tuple[ConsoleWorld, HostileData]]:
    with console_world(settings_for(db_url, tmp_path)) as world:
        with world.session() as session:
            data = store_hostile(session)
        yield world, data


def _urls(world: ConsoleWorld, data: HostileData) -> list[str]:
    """Every GET page with its ids filled: each hostile member's page, each hostile post's."""
    values = {
        "member_id": data.member_ids,
        "post_id": [str(i) for i in data.post_ids],
        "name": [CAMPAIGN],
    }
    urls: list[str] = []
    for route in console_routes(world.app):
        if route.method != "GET" or route.public or route.path.startswith(NOT_PAGES):
            continue
        params = route.params
        assert all(p in values for p in params), f"{route}: give the sweep values for {params}"
        if not params:
            urls.append(route.path)
            continue
        (param,) = params
        urls.extend(route.fill({param: value}) for value in values[param])
    # searches and filters that echo member text back
    urls += [f"/members?q={MARK}", f"/activity?actor=staff:{MARK}", f"/members?province={MARK}"]
    return urls


@pytest.mark.slow
def test_every_page_keeps_hostile_member_text_as_data(
    hostile: tuple[ConsoleWorld, HostileData],
) -> None:
    world, data = hostile
    admin = world.client("admin")
    problems: dict[str, list[str]] = {}
    shown: list[str] = []
    for url in _urls(world, data):
        answer = admin.get(url)
        assert answer.status_code < 500, f"{url}: {answer.status_code}"
        if answer.status_code != 200:
            # a post's own page may refuse a post in the wrong state; every other page answers
            assert url.startswith(("/review/", "/posts/")), f"{url}: {answer.status_code}"
            continue
        if not answer.headers["content-type"].startswith("text/html"):
            continue
        found = check_page(answer.text)
        if found:
            problems[url] = sorted(set(found))[:8]
        if MARK in answer.text:
            shown.append(url)
    assert problems == {}
    # the check saw member text: on the pages that list or show members and posts
    for page in ("/", "/review", "/failures", "/activity", f"/members/{data.member_ids[0]}"):
        if any(url == page for url in _urls(world, data)):
            assert page in shown, f"{page} shows no hostile member: the sweep checked nothing"
    assert len(shown) >= 3, shown
