"""The console's Today page (GET /) and "run now" (POST /flows/{flow}/run): posts of today in
every state, this week per account, what failed and what to do, accounts to re-authorise,
platform blocks, and our deployments read from a real Prefect server, from none, and from one
that answers badly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ifn_campaign.config import Settings
from tests.support.broken_prefect import broken_prefect_server
from tests.support.console import ConsoleWorld, console_world, settings_for
from tests.support.console_today import (
    ACTION,
    CJK_NAME,
    ERROR,
    HOSTILE,
    NOW,
    TEMPLATE_NAME,
    Seeded,
    in_english,
    page_text,
    section,
    seed,
)
from tests.support.prefect_worker import PrefectWorkerServer, worker_server


@pytest.fixture
def today(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[tuple[ConsoleWorld, Seeded]]:
    """The console at NOW (Tuesday 10.00 WIB) on the seeded data, no Prefect server."""
    with console_world(settings_for(db_url, tmp_path), clock=lambda: NOW) as world:
        with world.session() as session:
            seeded = seed(session)
            in_english(session)
        yield world, seeded


def _row(html: str, label: str) -> str:
    """The text of the table row that starts with `label` (its header cell)."""
    for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S):
        if page_text(row).startswith(f"{label} "):
            return page_text(row)
    raise AssertionError(f"no row for {label!r}")


def test_today_shows_every_state_what_failed_and_the_blocked_account(
    today: tuple[ConsoleWorld, Seeded],
) -> None:
    world, seeded = today
    answer = world.client("viewer").get("/")
    assert answer.status_code == 200
    html = answer.text
    going = section(html, "today")
    # every post of today, each state once, with its time in WIB and its member
    for post_id in seeded.today.values():
        assert re.search(rf'<td class="n">{post_id}</td>', going), post_id
    text = page_text(going)
    for hour, label in enumerate(
        [
            "planned",
            "composed",
            "approved",
            "scheduled",
            "publishing",
            "published",
            "failed",
            "needs re-authorisation",
            "missed",
            "cancelled",
        ]
    ):
        assert f"{7 + hour:02d}.00 instagram/bpipi" in text
        assert label in text
    assert "instagram/bpipi 1 approved 1 cancelled 1 composed 1 failed 1 missed" in text
    # the week: future slots up to next Monday, the one twelve days on left out
    week = section(html, "week")
    assert "Still to go out until" in page_text(week)
    assert _row(week, "facebook/bpipi").split()[1:] == ["1", "1", "1", "0", "0", "0"]
    # 10.00 is now: the scheduled post is not ahead; published, failed, missed, cancelled and
    # the two waiting for re-authorisation are the other six
    assert _row(week, "instagram/bpipi").split()[1:] == ["0", "0", "0", "0", "1", "6"]
    # what failed, with the platform's words and what to do
    failed = page_text(section(html, "failed"))
    assert ERROR in failed and ACTION in failed
    assert "All 4 on the failures page" in failed
    # the account waiting for re-authorisation, the block, the queue to review
    assert "instagram/bpipi" in page_text(section(html, "reauth"))
    assert "session has been invalidated" in page_text(section(html, "reauth"))
    blocks = page_text(section(html, "blocks"))
    assert "account facebook:bpipi blocked by the platform (code 4)" in blocks
    assert "until Tue, 8 Dec 2026 12.00" in blocks  # 05.00 UTC in WIB
    at = html.index('class="today-summary"')
    summary = page_text(html[at : html.index("</ul>", at)])
    assert summary.endswith(
        "2 posts waiting for review 4 failed or missed posts 1 accounts to re-authorise "
        "1 platform blocks"
    )
    assert 'href="/review"' in html
    # no server configured: one line, no table, no button
    flows = page_text(section(html, "flows"))
    assert "No Prefect server is configured" in flows
    assert "Run now" not in html


def test_member_text_is_escaped_data(today: tuple[ConsoleWorld, Seeded]) -> None:
    """Markup in a member's name or in the platform's error is shown as text, in <bdi>; a name
    that looks like a template is printed as it is."""
    world, _ = today
    html = world.client("admin").get("/").text
    assert "<script>" not in html and "<b>Sepatu</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;Sepatu&lt;/b&gt;" in html
    assert "<bdi>&lt;script&gt;" in html
    assert 'onerror="alert(1)"' not in html
    assert f"<bdi>{TEMPLATE_NAME}</bdi>" in html
    assert f"<bdi>{CJK_NAME}</bdi>" in html
    assert HOSTILE in page_text(html)


def test_today_in_indonesian(today: tuple[ConsoleWorld, Seeded]) -> None:
    """Dates and times in Indonesian, in WIB, for a user who reads Indonesian."""
    world, _ = today
    world.post("viewer", "/me/language", {"language": "id"})
    html = world.client("viewer").get("/").text
    assert '<html lang="id">' in html
    assert "Sel, 8 Des 2026 12.00" in page_text(section(html, "blocks"))


def test_anonymous_is_sent_to_sign_in(today: tuple[ConsoleWorld, Seeded]) -> None:
    world, _ = today
    answer = world.anonymous().get("/")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


def test_an_empty_database_is_a_quiet_day(console: ConsoleWorld) -> None:
    with console.session() as session:
        in_english(session)
    text = page_text(console.client("viewer").get("/").text)
    assert "Nothing goes out today." in text
    assert "No failed or missed posts." in text
    assert "Every account can publish." in text
    assert "No platform blocks us." in text


# --- the Prefect server: none, broken, real ----------------------------------------------------


def test_run_now_without_a_server_is_a_message(today: tuple[ConsoleWorld, Seeded]) -> None:
    world, _ = today
    answer = world.post("approver", "/flows/compose/run")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/#flows"
    flash = page_text(world.client("approver").get("/").text)
    assert "no Prefect server configured (PREFECT_API_URL)" in flash


@pytest.mark.slow
@pytest.mark.parametrize(
    ("status", "healthy", "said"),
    [
        (500, True, "failed (HTTP 500)"),
        (503, False, "failed (HTTP 503)"),
    ],
)
def test_a_broken_server_is_one_line(
    sqlite_engine: Engine, sqlite_url: str, tmp_path: Path, status: int, healthy: bool, said: str
) -> None:
    """A server that fails is said in one line, the rest of the page as usual; run now is
    refused with a message."""
    with (
        broken_prefect_server(status, b'{"detail": "boom <b>"}', healthy=healthy) as api,
        console_world(settings_for(sqlite_url, tmp_path), clock=lambda: NOW, prefect_api=api) as w,
    ):
        with w.session() as session:
            in_english(session)
        answer = w.client("approver").get("/")
        assert answer.status_code == 200
        flows = page_text(section(answer.text, "flows"))
        assert "Flow runs cannot be read now" in flows
        assert said in flows and api.removesuffix("/api") in flows
        assert "boom" not in answer.text  # the server's own answer is not repeated
        refused = w.post("approver", "/flows/sync_registry/run")
        assert refused.status_code == 303
        flash = page_text(w.client("approver").get("/").text)
        assert said in flash and "sync_registry/ifn-campaign was not started" in flash


def test_a_server_that_does_not_listen_is_one_line(
    sqlite_engine: Engine, sqlite_url: str, tmp_path: Path
) -> None:
    with broken_prefect_server(500) as api:
        pass  # stopped: nothing listens on its port now
    with console_world(
        settings_for(sqlite_url, tmp_path), clock=lambda: NOW, prefect_api=api
    ) as world:
        with world.session() as session:
            in_english(session)
        answer = world.client("viewer").get("/")
        assert answer.status_code == 200
        assert "does not answer (ConnectError)" in page_text(section(answer.text, "flows"))


@pytest.fixture(scope="module")
def prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectWorkerServer]:
    """A real Prefect server with our deployments registered (`ifn-campaign deploy`), all but
    the report's, so a deployment missing on the server is seen too. No worker: the runs wait."""
    from flows.deployments import DEPLOYMENTS

    folder = tmp_path_factory.mktemp("console-prefect")
    with worker_server(folder, pool="ifn-console-test") as server:
        cfg = Settings(data_dir=folder, prefect={"work_pool": server.pool})
        server.register(cfg, [d for d in DEPLOYMENTS if d.name != "report"])
        yield server


@pytest.fixture
def served(
    prefect: PrefectWorkerServer, sqlite_engine: Engine, sqlite_url: str, tmp_path: Path
) -> Iterator[ConsoleWorld]:
    with console_world(
        settings_for(sqlite_url, tmp_path), clock=lambda: NOW, prefect_api=prefect.api_url
    ) as world:
        with world.session() as session:
            in_english(session)
        yield world


@pytest.mark.slow
def test_the_last_run_of_each_deployment(
    prefect: PrefectWorkerServer, served: ConsoleWorld
) -> None:
    """A plan run that ran and completed is the plan's last run, with its times; a deployment
    never run says so; the report, not registered, says it is not deployed."""
    from prefect.states import Completed, Running

    run_id = prefect.run("plan_campaign")
    with prefect.client() as client:
        client.set_flow_run_state(run_id, Running(), force=True)
        client.set_flow_run_state(run_id, Completed(), force=True)
    html = served.client("approver").get("/").text
    flows = section(html, "flows")
    plan = _row(flows, "plan_campaign/ifn-campaign")
    assert "Completed" in plan and "ended" in plan and "none waiting" in plan
    sync = _row(flows, "sync_registry/ifn-campaign")
    assert "none yet" in sync and "on its schedule" in sync
    assert "run by hand" in _row(flows, "campaign/ifn-campaign")
    assert "not deployed on this server" in _row(flows, "report/ifn-campaign")
    assert html.count('action="/flows/') == 8  # run now for each deployment on the server
    assert 'action="/flows/notices/run"' in html  # `notices send` from the console (parity)
    assert 'action="/flows/insights/run"' in html  # `insights read` from the console (parity)
    assert f"From the Prefect server {prefect.api_url}" in page_text(flows)


@pytest.mark.slow
def test_run_now_creates_a_flow_run(prefect: PrefectWorkerServer, served: ConsoleWorld) -> None:
    """An approver's "run now" makes a flow run of that deployment on the server (read back
    from the server), shown as the next run at once; viewers and editors may not."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    for role in ("viewer", "editor"):
        assert served.post(role, "/flows/compose/run").status_code == 403
    client = served.client("approver")
    client.get("/")  # the page read before the click (kept for a few seconds)
    answer = served.post("approver", "/flows/compose/run")
    assert answer.status_code == 303 and answer.headers["location"] == "/#flows"
    html = client.get("/").text
    said = re.search(r"compose started: flow run ([\w-]+)", page_text(html))
    assert said, page_text(html)
    with prefect.client() as prefect_client:
        deployment = prefect_client.read_deployment_by_name("compose/ifn-campaign")
        runs = prefect_client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
        )
    assert [run.name for run in runs] == [said.group(1)]
    assert runs[0].state is not None and runs[0].state.type.value == "SCHEDULED"
    assert runs[0].parameters == deployment.parameters
    compose = _row(section(html, "flows"), "compose/ifn-campaign")
    assert "Scheduled" in compose  # the next run, waiting for a worker


@pytest.mark.slow
def test_run_now_refusals(prefect: PrefectWorkerServer, served: ConsoleWorld) -> None:
    """A deployment the server lacks, one that is not ours, and a post without the form token
    start nothing; the first two say why."""
    assert served.post("approver", "/flows/report/run").status_code == 303
    text = page_text(served.client("approver").get("/").text)
    assert "has no deployment report/ifn-campaign" in text and "nothing was started" in text
    served.post("approver", "/flows/not-ours/run")
    text = page_text(served.client("approver").get("/").text)
    assert "'not-ours' is not one of our deployments" in text
    client = served.client("approver")
    assert client.post("/flows/sync_registry/run", data={}).status_code == 403
    assert client.post("/flows/sync_registry/run", data={"csrf": "x" * 40}).status_code == 403
    with prefect.client() as prefect_client:
        deployment = prefect_client.read_deployment_by_name("sync_registry/ifn-campaign")
        from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

        runs = prefect_client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
        )
    assert runs == []
    assert served.anonymous().post("/flows/sync_registry/run").status_code == 401


def test_today_window_follows_the_display_zone(today: tuple[ConsoleWorld, Seeded]) -> None:
    """Today is the day in WIB: a post at 23.30 WIB yesterday (16.30 UTC, the same UTC date's
    eve) is not today's."""
    from ifn_campaign.console.pages.today import day_bounds
    from ifn_campaign.console.web import ConsoleState

    world, _ = today
    console: ConsoleState = world.app.state.console
    start, end, week_end = day_bounds(NOW, console)
    assert start.isoformat() == "2026-12-08T00:00:00+07:00"
    assert end - start == timedelta(days=1) and week_end - start == timedelta(days=7)
    late = NOW.replace(hour=17)  # 00.00 WIB on the 9th
    assert day_bounds(late, console)[0].isoformat() == "2026-12-09T00:00:00+07:00"
