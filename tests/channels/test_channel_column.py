"""Channels are stored as the Channel enum: VARCHAR(16) with the name, read back as `Channel`,
and a CHECK (migration 0008) that refuses any other name, also one written past the ORM."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from ifn_campaign.channels.channel import Channel
from ifn_campaign.models import AccountState


def test_a_channel_goes_in_as_its_name_and_comes_back_as_the_enum(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(AccountState(channel=Channel.FACEBOOK, account="bpipi"))
        session.add(AccountState(channel="youtube", account="bpipi"))  # type: ignore[arg-type]
        session.commit()
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT channel FROM account_state ORDER BY channel")).all()
    assert [row[0] for row in stored] == ["facebook", "youtube"]
    with Session(engine) as session:
        state = session.get(AccountState, (Channel.YOUTUBE, "bpipi"))
        assert state is not None and state.channel is Channel.YOUTUBE


def test_another_name_is_refused_by_the_model(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(AccountState(channel="tiktok", account="bpipi"))  # type: ignore[arg-type]
        with pytest.raises(StatementError, match="tiktok"):
            session.commit()


def test_another_name_is_refused_by_the_database(engine: Engine) -> None:
    insert = text("INSERT INTO account_state (channel, account) VALUES (:channel, :account)")
    with pytest.raises(IntegrityError, match="ck_account_state_channel"), engine.begin() as conn:
        conn.execute(insert, {"channel": "tiktok", "account": "bpipi"})
