"""Fixtures shared by the orchestration tests: one Prefect test server per test process.

`prefect_test_harness` starts a server (10-20 s on this machine) each time it is entered, and
test_flows.py and test_gates.py each entered it for their module. Here the server starts once per
process and each module that asks for it is pointed at it only while its tests run, exactly as
the harness points its block at it, so no other module runs against a Prefect server it did not
ask for."""

from __future__ import annotations

import inspect
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from prefect.server.api.server import SubprocessASGIServer


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_url(folder: pytest.TempPathFactory) -> str:
    return "sqlite+aiosqlite:///" + str(folder.mktemp("prefect-server") / "prefect-test.db")


@pytest.fixture(scope="session")
def prefect_test_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SubprocessASGIServer, str]]:
    """A Prefect server on a fresh SQLite database, as `prefect_test_harness` starts it, kept
    for the whole test process; with its database URL, which the modules' clients are given."""
    import prefect.settings
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.server.database.dependencies import temporary_database_interface

    database = _database_url(tmp_path_factory)
    with (
        temporary_database_interface(),
        prefect.settings.temporary_settings(
            updates={prefect.settings.PREFECT_SERVER_DATABASE_CONNECTION_URL: database}
        ),
    ):
        server = SubprocessASGIServer(port=_free_port())
        server.start(timeout=120)
    try:
        yield server, database
    finally:
        server.stop()


@contextmanager
def _pointed_at(server: SubprocessASGIServer, database: str) -> Iterator[None]:
    """Prefect's clients and flows run against `server` inside this block: the settings, the
    default server and the log and event workers set and drained as `prefect_test_harness`
    does on entry and exit."""
    import prefect.context
    import prefect.settings
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.server.database.dependencies import temporary_database_interface
    from prefect.utilities.asyncutils import run_coro_as_sync

    prior = SubprocessASGIServer._instances.get(None)
    with ExitStack() as stack:
        stack.enter_context(temporary_database_interface())
        stack.enter_context(
            prefect.settings.temporary_settings(
                updates={
                    prefect.settings.PREFECT_SERVER_DATABASE_CONNECTION_URL: database,
                    prefect.settings.PREFECT_API_URL: server.api_url,
                }
            )
        )
        SubprocessASGIServer._instances[None] = server
        stack.enter_context(
            prefect.context._temporary_global_settings_context(
                prefect.context.get_settings_context()
            )
        )
        try:
            yield
        finally:

            async def drain() -> None:
                try:
                    drained = APILogWorker.instance().drain()
                    if inspect.isawaitable(drained):
                        await drained
                except RuntimeError:  # the worker never started
                    pass
                drained = EventsWorker.drain_all()
                if inspect.isawaitable(drained):
                    await drained

            run_coro_as_sync(drain())
            if prior is not None:
                SubprocessASGIServer._instances[None] = prior
            else:
                SubprocessASGIServer._instances.pop(None, None)


@pytest.fixture(scope="module")
def prefect_server(prefect_test_server: tuple[SubprocessASGIServer, str]) -> Iterator[None]:
    """This module's tests run against the process's Prefect test server."""
    with _pointed_at(*prefect_test_server):
        yield


@pytest.fixture
def prefect_server_for_this_test(
    prefect_test_server: tuple[SubprocessASGIServer, str],
) -> Iterator[None]:
    """This test runs against the process's Prefect test server; the module's others do not."""
    with _pointed_at(*prefect_test_server):
        yield
