"""A registry that echoes our bearer token in an error body: the error says what the registry
said with the token blanked (also when the body is cut to its first 200 characters), so neither
a flow's log nor the sync run's stored errors (`ifn-campaign history`) ever hold it. The CLI
blanks secrets in what it prints; these places are not printed by it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import RegistrySettings
from ifn_campaign.errors import RegistryResponseError
from ifn_campaign.models import SyncRun
from ifn_campaign.registry.client import RegistryClient
from ifn_campaign.registry.sync import sync_members
from ifn_sandbox.http import Fault
from ifn_sandbox.registry import RegistrySandbox, generate_members

TOKEN = "tok-live-echo-5b7e9c1d2f"


def _echoing(sandbox: RegistrySandbox, before: str = "you sent ") -> None:
    echo = {"error": "bad_request", "message": f"{before}{TOKEN} and it is not welcome"}
    sandbox.faults.add(Fault("/api/v1/members", "status", status=400, body=echo))


@pytest.mark.parametrize("before", ["you sent ", "x" * 174 + " "])
def test_an_echoed_token_is_blanked_in_the_error(before: str) -> None:
    with RegistrySandbox(members=generate_members(2, seed=9), token=TOKEN) as sandbox:
        _echoing(sandbox, before)
        settings = RegistrySettings.model_validate({"base_url": sandbox.url})
        with (
            RegistryClient(settings, TOKEN) as client,
            pytest.raises(RegistryResponseError) as caught,
        ):
            list(client.pages())
    message = str(caught.value)
    assert "HTTP 400" in message and "bad_request" in message
    assert TOKEN[:8] not in message  # not even the part before a cut
    if len(before) < 100:
        assert "you sent [redacted] and it is not welcome" in message


def test_nor_in_the_sync_runs_stored_errors(tmp_path: Path) -> None:
    engine = store.make_engine(f"sqlite:///{tmp_path / 'ifn.db'}")
    store.upgrade(engine)
    with RegistrySandbox(members=generate_members(2, seed=9), token=TOKEN) as sandbox:
        _echoing(sandbox)
        settings = RegistrySettings.model_validate({"base_url": sandbox.url})
        with RegistryClient(settings, TOKEN) as client, pytest.raises(RegistryResponseError):
            sync_members(engine, client, None)
    with Session(engine) as session:
        run = session.scalars(select(SyncRun)).one()
    engine.dispose()
    assert run.errors and "[redacted]" in run.errors[0]
    assert all(TOKEN not in error for error in run.errors)
