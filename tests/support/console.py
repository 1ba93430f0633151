"""The staff console under FastAPI's TestClient: an app on a migrated database with one user per
role, and clients signed in as each (their form token read from the page, as a browser has it)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.console.app import create_app
from ifn_campaign.console.users import add_user
from ifn_campaign.models import StaffRole, utcnow
from ifn_campaign.wiring import Resources

PASSWORD = "sepatu-kulit-cibaduyut"  # every test user's password
USERS = {role.value: f"{role.value}-user" for role in StaffRole}  # role -> user name
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def form_token(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form token"
    return found.group(1)


@dataclass
class ConsoleWorld:
    """An app, its resources and a client per role (signed in on first use)."""

    app: FastAPI
    resources: Resources
    clients: dict[str, TestClient] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.resources.settings

    def session(self) -> Session:
        return self.resources.session()

    def anonymous(self) -> TestClient:
        return TestClient(self.app, base_url="http://127.0.0.1", follow_redirects=False)

    def client(self, role: str = "admin") -> TestClient:
        """A client signed in as the user of `role`."""
        if role not in self.clients:
            client = self.anonymous()
            sign_in(client, USERS[role])
            self.clients[role] = client
        return self.clients[role]

    def post(self, role: str, url: str, data: dict[str, Any] | None = None) -> Any:
        """A form post as `role`, with the form token the console gave that client."""
        client = self.client(role)
        token = form_token(client.get("/me").text)
        return client.post(url, data={"csrf": token, **(data or {})})


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    page = client.get("/login")
    answer = client.post(
        "/login", data={"csrf": form_token(page.text), "name": name, "password": password}
    )
    return answer


def add_role_users(session: Session, now: datetime | None = None) -> None:
    for role, name in USERS.items():
        add_user(session, name, role, PASSWORD, now=now or utcnow())
    session.commit()


@contextmanager
def console_world(
    settings: Settings, *, clock: Callable[[], datetime] = utcnow, prefect_api: str | None = None
) -> Iterator[ConsoleWorld]:
    """The console on `settings` (a migrated database), with a user per role."""
    with Resources(settings) as resources:
        with resources.session() as session:
            add_role_users(session)
        app = create_app(resources, clock=clock, prefect_api=prefect_api)
        world = ConsoleWorld(app, resources)
        try:
            yield world
        finally:
            for client in world.clients.values():
                client.close()


def settings_for(db_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Settings on a database URL with the data folder (console key, cards) under `data_dir`."""
    return Settings(database={"url": db_url}, data_dir=data_dir, **overrides)
