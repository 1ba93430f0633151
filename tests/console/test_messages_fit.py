"""The message an action leaves for the next page (a signed cookie) always fits in a cookie, over
a real socket: a browser drops a cookie over 4096 bytes without a word, and the message with it,
so staff who typed something long into a form saw the page come back saying nothing."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from ifn_campaign.console.web import FLASH
from tests.support.console import PASSWORD, USERS, console_world, form_token, settings_for
from tests.support.console_server import served_console

COOKIE_LIMIT = 4096  # RFC 6265 6.1: what every browser keeps at least, name and value together


def _typed(letters: str, count: int) -> str:
    """Text that does not compress (the signed cookie is compressed when that is shorter)."""
    chosen = random.Random(7)
    return "".join(chosen.choice(letters) for _ in range(count))


@pytest.mark.parametrize(
    "typed",
    [
        _typed("abcdefghijklmnopqrstuvwxyz0123456789", 8000),
        _typed("éàüßøłńśźżąęó漢字😀", 4000),  # 6 to 12 bytes each before compression
    ],
    ids=["ascii", "beyond-ascii"],
)
def test_a_refusal_quoting_a_long_value_still_reaches_the_page(
    engine: Engine, db_url: str, tmp_path: Path, typed: str
) -> None:
    settings = settings_for(db_url, tmp_path)
    with (
        console_world(settings),
        served_console(settings) as base,
        httpx.Client(base_url=base, follow_redirects=False, timeout=30) as editor,
    ):
        page = editor.get("/login")
        editor.post(
            "/login",
            data={"csrf": form_token(page.text), "name": USERS["editor"], "password": PASSWORD},
        )
        token = form_token(editor.get("/calendar").text)
        answer = editor.post(
            "/calendar/move", data={"csrf": token, "post": "1", "version": "0", "at": typed}
        )
        assert answer.status_code == 303
        cookies = [
            value
            for name, value in answer.headers.multi_items()
            if name == "set-cookie" and value.startswith(f"{FLASH}=")
        ]
        assert len(cookies) == 1
        pair = cookies[0].split(";", 1)[0]
        assert len(pair.encode()) <= COOKIE_LIMIT, len(pair.encode())  # before: 6,000 and more
        shown = editor.get(answer.headers["location"]).text
        # the message's start and its end, which says what to write
        assert "write the time as" in shown
        assert typed[:20] in shown
