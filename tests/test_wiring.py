"""`Resources(settings)`, the one wiring point: the engine made once and disposed on close (also
twice, also after an error inside `with`), the registry token through the one secret lookup,
and a database URL that does not parse refused in one clear error that quotes no password."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import event

from ifn_campaign import store
from ifn_campaign.cli.app import main
from ifn_campaign.config import load_settings
from ifn_campaign.errors import DatabaseURLError
from ifn_campaign.orchestration.doctor import check_database
from ifn_campaign.secrets import Secrets, read_so_far
from ifn_campaign.wiring import Resources

PASSWORD = "s3cretpw-91c2"
# Mistyped URLs that still carry the password: no ':' after the driver, a port that is no number,
# no scheme at all.
BAD_URLS = [
    f"postgresql+psycopg//app:{PASSWORD}@db.example/ifn",
    f"postgresql+psycopg://app:{PASSWORD}@db.example:54x2/ifn",
    f"app:{PASSWORD}@db.example/ifn",
]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("IFN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IFN_LOG__FILE", str(tmp_path / "cli.log"))


def _migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Resources:
    url = f"sqlite:///{tmp_path / 'ifn.db'}"
    engine = store.make_engine(url)
    store.upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("IFN_DATABASE__URL", url)
    return Resources(load_settings())


def test_the_engine_is_made_once_and_disposed_on_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    res = _migrated(tmp_path, monkeypatch)
    engine = res.engine
    assert res.engine is engine
    with res.session() as session:
        assert session.get_bind() is engine
    disposed: list[object] = []
    event.listen(engine, "engine_disposed", lambda _: disposed.append(engine))
    res.close()
    res.close()  # twice: nothing more to do
    assert disposed == [engine]
    again = res.engine  # a use after close makes a new one, closed in turn
    assert again is not engine
    res.close()


def test_leaving_with_on_an_error_disposes_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disposed: list[bool] = []
    with (
        pytest.raises(RuntimeError, match="the stage failed"),
        _migrated(tmp_path, monkeypatch) as res,
    ):
        event.listen(res.engine, "engine_disposed", lambda _: disposed.append(True))
        raise RuntimeError("the stage failed")
    assert disposed == [True]


def test_the_registry_token_through_the_one_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    res = Resources(load_settings(), secrets=Secrets({}))
    assert res.registry_token() is None
    monkeypatch.setenv("IFN_REGISTRY__TOKEN_SECRET_BLOCK", "ifn-registry-token")
    res = Resources(
        load_settings(), secrets=Secrets({"IFN_SECRET_IFN_REGISTRY_TOKEN": "tok-from-var-77"})
    )
    assert res.registry_token() == "tok-from-var-77"
    assert "tok-from-var-77" in read_so_far()  # so the log file blanks it


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_database_url_that_does_not_parse_is_one_error_without_its_password(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IFN_DATABASE__URL", url)
    with pytest.raises(DatabaseURLError) as caught:
        _ = Resources(load_settings()).engine
    message = str(caught.value)
    assert "is not a SQLAlchemy URL" in message and PASSWORD not in message
    assert "***@db.example" in message  # the rest is shown, to spot the typo

    assert main(["members"]) == 1
    printed = capsys.readouterr()
    assert PASSWORD not in printed.out + printed.err
    assert printed.err.startswith("error: database URL ") and "unexpected" not in printed.err

    [check], engine = check_database(url)  # doctor: a failed check, not a crash
    assert engine is None and check.status == "fail" and "not a SQLAlchemy URL" in check.line()
    assert PASSWORD not in check.line()


def test_the_channel_clients_are_made_once_and_closed_with_the_resources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ifn_campaign.channels.clients import ChannelClients

    closed: list[ChannelClients] = []
    monkeypatch.setattr(ChannelClients, "close", lambda self: closed.append(self))
    with _migrated(tmp_path, monkeypatch) as res:
        clients = res.channel_clients()
        assert res.channel_clients() is clients
        assert res.publisher().clients is clients
    assert closed == [clients]


def test_a_client_that_fails_to_close_still_lets_the_engine_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ifn_campaign.channels.clients import ChannelClients

    def fail(self: ChannelClients) -> None:
        raise OSError("socket already gone")

    monkeypatch.setattr(ChannelClients, "close", fail)
    res = _migrated(tmp_path, monkeypatch)
    res.channel_clients()
    disposed: list[bool] = []
    event.listen(res.engine, "engine_disposed", lambda _: disposed.append(True))
    with pytest.raises(OSError, match="socket already gone"):
        res.close()
    assert disposed == [True]
    res.close()  # the failed clients are not closed a second time
