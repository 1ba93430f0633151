"""The console's FastAPI app: `create_app(resources)` wires the pages, the login cookie, the
security headers and the static files; `ifn-campaign console` serves it with uvicorn.

Forwarded headers (X-Forwarded-For, X-Forwarded-Proto) are believed only from
`console.trusted_proxies` (uvicorn's ProxyHeadersMiddleware), so behind a TLS proxy the cookies
are Secure and the login limit counts the real client, and nobody else can pretend either.
"""

from __future__ import annotations

import logging
import pkgutil
from collections.abc import Awaitable, Callable
from datetime import datetime
from importlib import import_module
from types import ModuleType

import jinja2
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from ifn_campaign import bundled
from ifn_campaign.console import pages
from ifn_campaign.console.i18n import LANGUAGES, state_namer, translations
from ifn_campaign.console.sessions import COOKIE, Cookie, Signer, session_key
from ifn_campaign.console.web import ConsoleState, NotSignedIn, current_staff, login_url, render
from ifn_campaign.errors import InvalidValueError
from ifn_campaign.members.links import PAGE_PATH
from ifn_campaign.models import utcnow
from ifn_campaign.wiring import Resources

__all__ = ["create_app", "page_modules"]

_log = logging.getLogger(__name__)

# No script or style from anywhere but the console itself, none inline; no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; font-src 'self'; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def _environment(resources: Resources, language: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(
            [d.parent for d in bundled.template_dirs("console", resources.settings.templates.dir)]
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["state_name"] = state_namer(language)
    return env


def _browser_language(request: Request) -> str:
    """Before signing in: English only when the browser puts it before Indonesian."""
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return LANGUAGES[0]


def _server_error(request: Request) -> Response:
    """The error page for a request that failed on a bug (plain text if even that fails)."""
    try:
        return render(request, None, "console/error.html.j2", status=500, code=500, detail="")
    except Exception:
        return Response("internal error\n", status_code=500, media_type="text/plain")


def _holds_nul(request: Request) -> bool:
    """Whether the path or the query string names a NUL character (%00)."""
    query: bytes = request.scope.get("query_string", b"")
    return "\x00" in request.url.path or b"%00" in query.lower()


def page_modules() -> list[ModuleType]:
    """Every module of `ifn_campaign.console.pages`: each holds a `router` with its routes."""
    return [
        import_module(f"{pages.__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(pages.__path__), key=lambda i: i.name)
    ]


def create_app(
    resources: Resources,
    *,
    clock: Callable[[], datetime] = utcnow,
    prefect_api: str | None = None,
) -> FastAPI:
    """The console on `resources` (its settings, database and clients). `clock` is the time the
    pages call now; `prefect_api` the Prefect server to read flow runs from (None: none)."""
    settings = resources.settings
    if "*" in settings.console.trusted_proxies:
        raise InvalidValueError(
            "console.trusted_proxies: '*' would believe every visitor's X-Forwarded-For and "
            "X-Forwarded-Proto; name the proxy's address (docs/console/behind-proxy.md)"
        )
    app = FastAPI(title="ifn-campaign console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = ConsoleState(
        resources=resources,
        signer=Signer(session_key(settings), settings.console.session_hours * 3600),
        templates={language: _environment(resources, language) for language in LANGUAGES},
        clock=clock,
        prefect_api=prefect_api,
    )

    @app.middleware("http")
    async def _cookie_and_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        console: ConsoleState = app.state.console
        loaded = console.signer.load(request.cookies.get(COOKIE))
        request.state.cookie = loaded or Cookie.anonymous()
        request.state.language = _browser_language(request)
        try:
            if _holds_nul(request):
                # no address of ours has one, and PostgreSQL refuses it in any query
                response = render(
                    request,
                    current_staff(request),
                    "console/error.html.j2",
                    status=400,
                    code=400,
                    detail="not understood: a NUL character in the address",
                )
            else:
                response = await call_next(request)
        except Exception:
            # a bug: the operator gets the traceback in the log (the route's pattern, never the
            # path: a feed's path is its password), the visitor the error page, with the
            # security headers every answer has
            route = getattr(request.scope.get("route"), "path", "?")
            _log.exception("console: %s %s failed", request.method, route)
            response = _server_error(request)
        changed: Cookie | None = getattr(request.state, "new_cookie", None)
        # a member's own page (/anggota/...) has no staff login: it gets no staff cookie
        member_page = request.url.path.startswith(PAGE_PATH + "/")
        if (changed is not None or loaded is None) and not member_page:
            response.set_cookie(
                COOKIE,
                console.signer.dump(changed or request.state.cookie),
                max_age=int(console.signer.max_age),
                httponly=True,
                samesite="lax",
                secure=request.url.scheme == "https",
                path="/",
            )
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if member_page:
            # the member's token is in the address: no answer under it, an error page included
            # (it loads /static/ and links home), lets a Referer carry it to a proxy's log
            response.headers["Referrer-Policy"] = "no-referrer"
        if not request.url.path.startswith("/static/"):
            # pages, exports and feeds hold member data and the form token: never kept by a
            # browser or a proxy (a route that may be cached says so itself)
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(NotSignedIn)
    async def _sign_in(request: Request, exc: NotSignedIn) -> Response:
        if request.method in ("GET", "HEAD"):
            return Response(status_code=303, headers={"Location": login_url(request)})
        return render(request, None, "console/error.html.j2", status=401, code=401)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return render(
            request,
            current_staff(request),
            "console/error.html.j2",
            status=exc.status_code,
            code=exc.status_code,
            detail=str(exc.detail) if exc.status_code < 500 else "",
        )

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
        where = ", ".join(
            ".".join(str(part) for part in error.get("loc", ())[1:]) or "request"
            for error in exc.errors()
        )
        return render(
            request,
            current_staff(request),
            "console/error.html.j2",
            status=400,
            code=400,
            detail=f"not understood: {where}",
        )

    @app.exception_handler(OperationalError)
    async def _database_busy(request: Request, exc: OperationalError) -> Response:
        # SQLite locked past its busy timeout, or the database out of reach: the request's
        # transaction was rolled back (an action commits once, at its end), so nothing changed
        _log.warning(
            "console: %s: the database did not answer (%s)", request.method, type(exc.orig).__name__
        )
        return render(
            request,
            getattr(request.state, "staff", None),  # asked already; the database may be away
            "console/error.html.j2",
            status=503,
            code=503,
            detail="the database is busy or out of reach: nothing was changed, try again",
        )

    static = bundled.assets("console")
    app.mount("/static", StaticFiles(directory=static), name="static")
    for module in page_modules():
        app.include_router(module.router)
    # outermost: the client address and scheme are right before anything reads them
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.console.trusted_proxies)
    return app
