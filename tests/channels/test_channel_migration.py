"""Migration 0008 on a database that already holds rows (SQLite and PostgreSQL): the rows written
before it keep their channel and read back as the `Channel` enum, a name outside the enum stops
the upgrade naming the constraint, and the downgrade drops the CHECK and keeps every row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.channels.channel import Channel
from ifn_campaign.errors import MigrationFailed
from ifn_campaign.models import AccountState, Feature, Pin, Post
from tests.support.ledger import add_member

WHEN = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
TABLES = ("post", "account_state", "feature", "pin")


def _post_at_0007(session: Session, channel: str) -> None:
    """A post and its ledger row as the code of 0007 wrote them: only the post columns that
    schema has (the model holds later ones, such as 0009's `version`)."""
    post_id = session.execute(
        insert(Post.__table__)  # type: ignore[arg-type]
        .values(
            campaign="sorotan",
            channel=channel,
            account=f"bpipi-{channel}",
            slot_at=WHEN,
            member_id="ifn-m1",
            template="sorotan",
            rotation_round=0,
            pinned=False,
            reason_id="giliran berikutnya",
            reason_en="next in rotation",
            state="published",
            state_changed_at=WHEN,
            created_at=WHEN,
        )
        .returning(Post.__table__.c.id)  # type: ignore[attr-defined]
    ).scalar_one()
    session.add(
        Feature(
            post_id=post_id,
            member_id="ifn-m1",
            campaign="sorotan",
            channel=channel,
            account=f"bpipi-{channel}",
            featured_at=WHEN,
            created_at=WHEN,
        )
    )
    session.flush()


@pytest.fixture
def at_0007(db_url: str) -> Engine:
    """A database at 0007 holding a row of every channel table, written as the code before
    0008 wrote them (the plain names)."""
    engine = store.make_engine(db_url)
    store.upgrade(engine, "0007")
    with Session(engine) as session:
        add_member(session, "ifn-m1")
        for channel in Channel:
            _post_at_0007(session, channel.value)
            session.add(AccountState(channel=channel.value, account=f"bpipi-{channel}"))
            session.add(
                Pin(
                    campaign="sorotan",
                    channel=channel.value,
                    account=f"bpipi-{channel}",
                    slot_at=WHEN,
                    member_id="ifn-m1",
                    created_at=WHEN,
                )
            )
        session.commit()
    return engine


def _names(engine: Engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        return {
            table: sorted(conn.execute(text(f"SELECT channel FROM {table}")).scalars())
            for table in TABLES
        }


def test_rows_written_before_0008_survive_it_and_read_back_as_the_enum(at_0007: Engine) -> None:
    before = _names(at_0007)
    assert before["post"] == ["facebook", "instagram", "youtube"]
    store.upgrade(at_0007)
    assert _names(at_0007) == before
    with Session(at_0007) as session:
        for model in (Post, AccountState, Feature, Pin):
            channels = session.scalars(select(model.channel)).all()
            assert sorted(channels) == sorted(Channel)
            assert all(type(c) is Channel for c in channels), model
    store.require_migrated(at_0007)


def test_a_name_outside_the_enum_stops_the_upgrade_naming_the_constraint(
    at_0007: Engine,
) -> None:
    with at_0007.begin() as conn:
        conn.execute(text("UPDATE pin SET channel = 'tiktok' WHERE channel = 'youtube'"))
    with pytest.raises(MigrationFailed, match="ck_pin_channel"):
        store.upgrade(at_0007)
    assert store.current_revision(at_0007) == "0007"
    names = _names(at_0007)
    assert names["pin"] == ["facebook", "instagram", "tiktok"]  # nothing lost
    assert names["post"] == ["facebook", "instagram", "youtube"]


def test_the_downgrade_drops_the_check_and_keeps_the_rows(at_0007: Engine) -> None:
    store.upgrade(at_0007)
    rows = _names(at_0007)
    command.downgrade(store._alembic_config(at_0007), "0007")
    assert store.current_revision(at_0007) == "0007"
    assert _names(at_0007) == rows
    with at_0007.begin() as conn:  # the CHECK is gone: 0007's schema took any name
        conn.execute(text("INSERT INTO account_state (channel, account) VALUES ('tiktok', 'x')"))
    with at_0007.begin() as conn:
        conn.execute(text("DELETE FROM account_state WHERE channel = 'tiktok'"))
    store.upgrade(at_0007)
    assert _names(at_0007) == rows


def test_once_the_row_is_mended_the_upgrade_goes_through(at_0007: Engine) -> None:
    """The failed upgrade left nothing half-done behind (a rebuilt table, a leftover copy)."""
    with at_0007.begin() as conn:
        conn.execute(text("UPDATE pin SET channel = 'tiktok' WHERE channel = 'youtube'"))
    with pytest.raises(MigrationFailed):
        store.upgrade(at_0007)
    with at_0007.begin() as conn:
        conn.execute(text("UPDATE pin SET channel = 'youtube' WHERE channel = 'tiktok'"))
    store.upgrade(at_0007)
    assert store.current_revision(at_0007) == store.head_revision()
    assert _names(at_0007)["pin"] == ["facebook", "instagram", "youtube"]


def test_sqlite_checks_every_reference_before_it_commits(sqlite_url: str) -> None:
    """Foreign keys are off while SQLite rebuilds the tables: a row pointing at nothing is found
    before the commit, and the upgrade is refused rather than kept."""
    engine = store.make_engine(sqlite_url)
    store.upgrade(engine, "0007")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.commit()
        conn.execute(
            text(
                "INSERT INTO pin (campaign, channel, account, slot_at, member_id, created_at) "
                "VALUES ('sorotan', 'youtube', 'bpipi', :at, 'ifn-gone', :at)"
            ),
            {"at": WHEN},
        )
        conn.commit()
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
    with pytest.raises(MigrationFailed, match=r"refer to rows that are not there.*pin row"):
        store.upgrade(engine)
    assert store.current_revision(engine) == "0007"
    with engine.connect() as conn:  # and foreign keys are on again for everyone after it
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
