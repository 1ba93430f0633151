"""The `notices` flow under a real local Prefect server: it queues a member's notice for an
approved post and sends it to the mail sandbox, leaves its summary artifact, and is a
deployment on `schedules.notices`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ifn_campaign.config import Settings
from ifn_campaign.models import NoticeState, utcnow
from ifn_sandbox.mail import MailSandbox
from tests.support.notice_outbox import NoticeWorld, make_card, settings_for
from tests.support.notices_delivery import PASSWORD, SECRET_NAME, USER


def test_the_deployment_runs_every_15_minutes() -> None:
    from flows.deployments import DEPLOYMENTS
    from ifn_campaign.orchestration.deployments import runner_deployments

    made = {d.flow_name: d for d in runner_deployments(DEPLOYMENTS, Settings())}
    deployment = made["notices"]
    assert deployment.entrypoint == "flows.notices.notices"
    assert [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules] == [
        ("*/15 * * * *", "Asia/Jakarta")
    ]
    assert deployment.concurrency_limit == 1  # one run at a time; a second is cancelled


@pytest.fixture(scope="module")
def prefect() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.mark.slow
def test_the_flow_queues_and_sends(
    prefect: None,
    sqlite_engine: Engine,
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import anyio
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.notices import notices

    world = NoticeWorld(
        sqlite_engine, settings_for(sqlite_url, tmp_path), make_card(tmp_path / "cards")
    )
    member = world.member("m-flow-1")
    world.post(member, slot_at=utcnow() + timedelta(days=2))
    with MailSandbox(tmp_path / "maildir", user=USER, password=PASSWORD) as mail:
        for key in [k for k in os.environ if k.startswith("IFN_")]:
            monkeypatch.delenv(key)
        (tmp_path / "none.toml").write_text("")
        env = {
            "IFN_CONFIG": str(tmp_path / "none.toml"),
            "IFN_DATA_DIR": str(tmp_path),
            "IFN_DATABASE__URL": sqlite_url,
            "IFN_MEMBER_PAGE__BASE_URL": "https://ifn.example.org",
            "IFN_NOTICES__SMTP_HOST": mail.host,
            "IFN_NOTICES__SMTP_PORT": str(mail.smtp_port),
            "IFN_NOTICES__SMTP_SECURITY": "none",
            "IFN_NOTICES__SMTP_USER": USER,
            "IFN_NOTICES__SMTP_PASSWORD_SECRET": SECRET_NAME,
            "IFN_SECRET_SMTP_PASSWORD": PASSWORD,
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(tmp_path)
        outcome = notices()
        arrived = mail.messages()
    assert outcome["queued"]["before"] == 1
    [notice] = [n for n in world.notices() if n.medium == "email"]
    assert outcome["sent"]["sent"] == [notice.id]
    assert notice.state == NoticeState.SENT
    assert [m["Message-ID"] for m in arrived] == [notice.message_id]

    async def artifacts() -> list[str]:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["notices-summary"]))
            )
            return [str(a.data) for a in found]

    [markdown] = anyio.run(artifacts)
    assert "- queued: 1 (before 1" in markdown and "- sent: 1" in markdown


@pytest.mark.slow
def test_a_mail_server_not_found_fails_the_run_and_says_so(
    prefect: None,
    sqlite_engine: Engine,
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A mistyped smtp_host: the run is Failed (not a green "0 sent"), its summary says why
    first, and the notice waits, untried."""
    import anyio
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.notices import notices

    world = NoticeWorld(
        sqlite_engine, settings_for(sqlite_url, tmp_path), make_card(tmp_path / "cards")
    )
    world.post(world.member("m-flow-2"), slot_at=utcnow() + timedelta(days=2))
    for key in [k for k in os.environ if k.startswith("IFN_")]:
        monkeypatch.delenv(key)
    (tmp_path / "none.toml").write_text("")
    env = {
        "IFN_CONFIG": str(tmp_path / "none.toml"),
        "IFN_DATA_DIR": str(tmp_path),
        "IFN_DATABASE__URL": sqlite_url,
        "IFN_MEMBER_PAGE__BASE_URL": "https://ifn.example.org",
        "IFN_NOTICES__SMTP_HOST": "smtp.gmial.invalid",  # RFC 2606: never resolves
        "IFN_NOTICES__SMTP_PORT": "587",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    state = notices(return_state=True)
    assert state.is_failed()
    assert "the mail server could not be used" in (state.message or "")
    [notice] = [n for n in world.notices() if n.medium == "email"]
    assert (notice.state, notice.attempts) == (NoticeState.PENDING, 0)
    assert notice.last_error and "smtp.gmial.invalid is not known" in notice.last_error

    async def artifacts() -> list[str]:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["notices-summary"]))
            )
            return [str(a.data) for a in sorted(found, key=lambda a: a.created or 0)]

    markdown = anyio.run(artifacts)[-1]  # this run's: the latest
    assert markdown.startswith("# Member notices\n\n**The mail server could not be used:** SMTP")
    assert "- queued: 1 (before 1" in markdown
