"""Issue 14, the page writer: one record never stops a sync. Whatever a field holds, served over
HTTP by the registry sandbox, the record is stored or quarantined with its reason and the page goes
on; a value the database itself refuses quarantines that record only (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ifn_campaign.config import RegistrySettings
from ifn_campaign.models import Member, QuarantinedRecord, SyncRun
from ifn_campaign.registry.client import RegistryClient
from ifn_campaign.registry.sync import SyncResult, sync_members
from ifn_sandbox.registry import RegistrySandbox, generate_members

_TEMPLATE = generate_members(1, seed=3)[0]
# every field of a member, nested ones by path (a list item by its index)
FIELDS = sorted(
    {(key,) for key in _TEMPLATE}
    | {(key, sub) for key, value in _TEMPLATE.items() if isinstance(value, dict) for sub in value}
    | {("photos", 0, "url"), ("photos", 0, "alt"), ("certifications", 0, "number")}
)
_ODD_TEXT = st.sampled_from(["\ud800", "\udfff", "a\udc80b", "\x00", "x\x00y", "\ud83d", "\ufeff"])
_TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=30) | _ODD_TEXT
_INTS = st.integers() | st.sampled_from([2**63, -(2**63) - 1, 10**40, -(10**40)])
JSON = st.recursive(
    st.none() | st.booleans() | _INTS | st.floats() | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)
_counter = itertools.count()


def _set(record: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    """Put `value` at `path`, making the containers on the way if the record lacks them."""
    target: Any = record
    for step, following in itertools.pairwise(path):
        if isinstance(step, int):
            while len(target) <= step:
                target.append({})
            target = target[step]
            continue
        if not isinstance(target.get(step), dict | list):
            target[step] = [] if isinstance(following, int) else {}
        target = target[step]
    last = path[-1]
    if isinstance(last, int):
        while len(target) <= last:
            target.append({})
    target[last] = value


def _sync(sb: RegistrySandbox, engine: Engine) -> SyncResult:
    settings_ = RegistrySettings(base_url=sb.url, page_size=10, retries=0)
    with RegistryClient(settings_) as client:
        return sync_members(engine, client, None, full=True)


@pytest.mark.slow
def test_any_value_in_any_field_never_stops_the_page(engine: Engine) -> None:
    good = generate_members(4, seed=9)
    with RegistrySandbox(members=copy.deepcopy(good)) as sb:

        @settings(
            max_examples=60,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(path=st.sampled_from(FIELDS), value=JSON, same_id=st.booleans())
        def check(path: tuple[Any, ...], value: Any, same_id: bool) -> None:
            n = next(_counter)
            names = {m["id"]: f"{m['business_name']} {n}" for m in good}
            for member in good:  # the good records change too, so each run must store them
                sb.upsert({**member, "business_name": names[member["id"]]})
            hostile = copy.deepcopy(_TEMPLATE)
            hostile["id"] = good[0]["id"] if same_id else f"hostile-{n}"
            _set(hostile, path, value)
            sb.upsert(hostile)
            result = _sync(sb, engine)
            assert result.run.status == "completed"
            with Session(engine) as s:
                stored = dict(s.execute(select(Member.id, Member.business_name)).all())
            kept = {i: v for i, v in names.items() if not (same_id and i == hostile["id"])}
            assert {i: stored.get(i) for i in kept} == kept
            if isinstance(hostile["id"], str) and hostile["id"] not in names:
                sb.remove(hostile["id"])

        check()


def test_a_value_the_database_refuses_quarantines_only_that_record(engine: Engine) -> None:
    """The database itself refuses one member (a trigger, as a constraint would): that record
    is quarantined with the database's reason, its page's other members are stored, and the
    next run neither fails nor loses anything."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON member "
                    "WHEN NEW.business_name LIKE '%Ditolak%' "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the database'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.business_name LIKE '%Ditolak%' THEN "
                    "RAISE EXCEPTION 'refused by the database'; END IF; RETURN NEW; END $$ "
                    "LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON member "
                    "FOR EACH ROW EXECUTE FUNCTION refuse()"
                )
            )
    members = generate_members(12, seed=4)
    members[5]["business_name"] = "CV Ditolak Jaya"
    with RegistrySandbox(members=members) as sb:
        first = _sync(sb, engine)
        second = _sync(sb, engine)
    assert first.run.status == second.run.status == "completed"
    assert first.counts()["new"] == 11 and first.counts()["quarantined"] == 1
    assert second.counts()["new"] == 0 and second.counts()["quarantined"] == 1
    with Session(engine) as s:
        assert s.scalar(select(Member.id).where(Member.id == members[5]["id"])) is None
        assert len(s.scalars(select(Member.id)).all()) == 11
        (entry,) = s.scalars(select(QuarantinedRecord)).all()
        runs = s.scalars(select(SyncRun)).all()
    assert entry.member_id == members[5]["id"] and entry.resolved_at is None
    assert entry.reasons[0].startswith("could not be stored: ")
    assert "refused by the database" in entry.reasons[0]
    assert [r.quarantined for r in runs] == [1, 1]


def test_a_page_is_one_transaction_even_with_its_savepoints(engine: Engine) -> None:
    """The database fails the page's last write (the run's cursor): nothing of the page stays,
    its members included, although they were written in a savepoint (pysqlite would otherwise
    have committed them when the savepoint was released)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER fail_page BEFORE UPDATE ON sync_run "
                    "WHEN NEW.pages = 1 AND NEW.status = 'running' "
                    "BEGIN SELECT RAISE(ABORT, 'the disk is full'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION fail_page() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.pages = 1 AND NEW.status = 'running' THEN "
                    "RAISE EXCEPTION 'the disk is full'; END IF; RETURN NEW; END $$ "
                    "LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER fail_page BEFORE UPDATE ON sync_run "
                    "FOR EACH ROW EXECUTE FUNCTION fail_page()"
                )
            )
    with (
        RegistrySandbox(members=generate_members(5, seed=2)) as sb,
        pytest.raises(DBAPIError, match="the disk is full"),
    ):
        _sync(sb, engine)
    with Session(engine) as s:
        assert s.scalars(select(Member.id)).all() == []
        assert s.scalars(select(SyncRun.status)).all() == ["failed"]
