"""The console's routes as data, for the sweeps that check every page that lands without naming
it: each route's method and path, the role it needs (read from its dependencies: `require` and
`action` carry `.role`), whether it checks the form token, and a path with its ids filled."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from ifn_campaign.console.users import ROLES
from ifn_campaign.models import StaffRole

# Routes anyone may reach, each with why. A route with no role that is not here fails the sweep.
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/login"): "the login form",
    ("POST", "/login"): "signing in (checks the anonymous cookie's form token itself)",
}
# Public routes whose path holds a secret instead of a login (a calendar app cannot sign in):
# matched by path pattern, each with why.
PUBLIC_BY_TOKEN = {
    re.compile(r"^/feed/{token}\.ics$"): "the calendar feed: its private token is the login",
    re.compile(r"^/anggota/"): "a member's own page, answers, cards and unsubscribe (issue 19): "
    "the signed link is the login; answers check their own form token",
}
_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    role: StaffRole | None
    form_token: bool
    name: str

    @property
    def public(self) -> bool:
        return (self.method, self.path) in PUBLIC or any(
            pattern.match(self.path) for pattern in PUBLIC_BY_TOKEN
        )

    @property
    def params(self) -> list[str]:
        return _PARAM.findall(self.path)

    def fill(self, values: dict[str, str] | None = None, default: str = "1") -> str:
        """The path with each {param} replaced: by `values[param]`, else `default` (an id that
        need not exist: the role check comes before any lookup)."""
        given = values or {}
        return _PARAM.sub(lambda m: given.get(m.group(1), default), self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _dependencies(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _dependencies(sub)


def needed_role(dependant: Dependant) -> StaffRole | None:
    """The highest role any of the route's dependencies asks for (None: no login needed)."""
    roles = [getattr(call, "role", None) for call in _dependencies(dependant)]
    found = [StaffRole(r) for r in roles if r is not None]
    return max(found, key=ROLES.index) if found else None


def checks_form_token(dependant: Dependant) -> bool:
    return any(getattr(call, "form_token", False) for call in _dependencies(dependant))


def _api_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """API routes with their full paths, through included routers (FastAPI keeps an included
    router as one entry holding the original router and its prefix)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):  # fastapi.routing._IncludedRouter
            context = getattr(route, "include_context", None)
            if context is not None and getattr(context, "dependencies", None):
                raise AssertionError(f"router-level dependencies are not swept: {context}")
            inner = prefix + (getattr(context, "prefix", "") if context is not None else "")
            yield from _api_routes(route.original_router.routes, inner)


def console_routes(app: FastAPI) -> list[Route]:
    """Every method of every API route of the app (the static files mount is not one)."""
    routes = []
    for path, route in _api_routes(list(app.routes)):
        for method in sorted(route.methods or ()):
            routes.append(
                Route(
                    method=method,
                    path=path,
                    role=needed_role(route.dependant),
                    form_token=checks_form_token(route.dependant),
                    name=route.name,
                )
            )
    return sorted(routes, key=lambda r: (r.path, r.method))


def role_below(role: StaffRole) -> StaffRole | None:
    index = ROLES.index(role)
    return ROLES[index - 1] if index > 0 else None


def database_rows(session: Session) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in a stable order: compare before and after a refused request
    to see that it changed nothing."""
    rows: dict[str, list[tuple[object, ...]]] = {}
    for table in SQLModel.metadata.sorted_tables:
        result = session.execute(select(table))
        rows[table.name] = sorted((tuple(row) for row in result), key=repr)
    return rows
