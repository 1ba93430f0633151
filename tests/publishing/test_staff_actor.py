"""Who a staff command records: `--by NAME`, else the login name (`getpass.getuser`: LOGNAME,
USER, LNAME, USERNAME, then the password database), as 'staff:<name>' on the post's event."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.cli.app import main
from ifn_campaign.models import PostEvent, PostState
from tests.support.publishing import World, approved_posts

LOGIN_VARIABLES = ("LOGNAME", "USER", "LNAME", "USERNAME")


def _cancelled_by(world: World, post_id: int) -> str:
    with Session(world.engine) as session:
        return session.scalars(
            select(PostEvent.actor).where(
                PostEvent.post_id == post_id, PostEvent.to_state == PostState.CANCELLED
            )
        ).one()


def test_a_staff_action_records_by_else_the_login_name(
    cli: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = datetime.now(UTC) + timedelta(days=3)
    posts = approved_posts(cli, {"instagram": later, "facebook": later, "youtube": later})
    assert main(["cancel", str(posts["instagram"]), "--reason", "x", "--by", "rina"]) == 0
    assert _cancelled_by(cli, posts["instagram"]) == "staff:rina"

    monkeypatch.setenv("LOGNAME", "budi")
    assert main(["cancel", str(posts["facebook"]), "--reason", "x"]) == 0
    assert _cancelled_by(cli, posts["facebook"]) == "staff:budi"

    for name in LOGIN_VARIABLES:  # none set: the password database's name for this user
        monkeypatch.delenv(name, raising=False)
    assert main(["cancel", str(posts["youtube"]), "--reason", "x"]) == 0
    assert _cancelled_by(cli, posts["youtube"]) == f"staff:{getpass.getuser()}"
