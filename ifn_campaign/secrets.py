"""Secrets by name: the environment first (IFN_SECRET_<NAME>), then a Prefect Secret block.

Settings only ever hold a secret's name, so no file, log or database row holds its value; an error
names where to put the secret, never what it is. This module and the settings (`config.py`) are
the only ones that read the process's environment; everything else is handed a `Secrets` lookup
(by `ifn_campaign.wiring.Resources`) or the values it needs.
"""

from __future__ import annotations

import base64
import logging
import os
import re
from collections.abc import Mapping

from ifn_campaign.errors import SettingsError


def env_name(name: str) -> str:
    """'ig-bpipi' -> 'IFN_SECRET_IG_BPIPI'."""
    return "IFN_SECRET_" + re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()


def prefect_secret(name: str) -> str:
    """The value of the Prefect Secret block `name`. Always Prefect's sync implementation: the
    stages also run in the worker thread of the async `campaign` flow, where a plain
    `Secret.load` returns an un-awaited coroutine (and no secret)."""
    from prefect.blocks.system import Secret

    return str(Secret.load(name, _sync=True).get())  # type: ignore[call-arg]


# Every secret value this process has read, wherever from (a Prefect Secret block is in no
# environment variable), so the log file can blank it (`logfile.secret_values`).
_READ: set[str] = set()


def read_so_far() -> frozenset[str]:
    return frozenset(_READ)


BLANK = "[redacted]"
_BASE64_WORD = re.compile(r"[A-Za-z0-9+/]{8,}={0,2}")
_MIN_SECRET = 4  # shorter values would blank ordinary words


def blank_read_secrets(text: str) -> str:
    """`text` from a server (an SMTP reply, say) with every secret this process has read
    blanked, as typed or inside a base64 word: a server that quotes a refused AUTH PLAIN or
    LOGIN argument back hands us our password encoded, and its text is stored and shown."""
    values = sorted((v for v in _READ if len(v) >= _MIN_SECRET), key=len, reverse=True)
    if not values:
        return text
    for value in values:
        text = text.replace(value, BLANK)

    def encoded(word: re.Match[str]) -> str:
        raw = word.group(0)
        try:
            decoded = base64.b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8", "replace")
        except ValueError:
            return raw
        return BLANK if any(v in decoded for v in values) else raw

    return _BASE64_WORD.sub(encoded, text)


def secret(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The value of secret `name`: IFN_SECRET_<NAME> in `environ` (the process's environment by
    default), else the Prefect Secret block `name`; `ConfigError` naming both places if neither
    holds it."""
    env = os.environ if environ is None else environ
    value = env.get(env_name(name))
    if not value:
        try:
            value = prefect_secret(name)
        except Exception as exc:  # Prefect raises ValueError, httpx errors, ...
            if not _no_such_block(exc):  # the block may well be there: say what failed
                raise SettingsError(
                    f"secret {name!r}: {env_name(name)} is not set and the Prefect server "
                    f"holding Secret blocks could not be asked ({type(exc).__name__}); start "
                    f"it or correct PREFECT_API_URL, or set {env_name(name)}"
                ) from None
            raise SettingsError(
                f"secret {name!r} not found: set {env_name(name)} or create the Prefect Secret "
                f"block {name!r}"
            ) from None
    _READ.add(value)
    return value


def _no_such_block(exc: BaseException) -> bool:
    """Whether Prefect answered that it holds no such block (`Block.load` raises ValueError
    from ObjectNotFound), rather than failing to answer (httpx errors, no API URL, ...)."""
    from prefect.exceptions import ObjectNotFound

    return isinstance(exc, ObjectNotFound) or isinstance(exc.__cause__, ObjectNotFound)


class Secrets:
    """The one secret lookup, passed to whoever needs a secret (`Resources.secrets`): call it
    with a name. `environ` stands in for the process's environment (tests, a child process)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ

    def __call__(self, name: str) -> str:
        return secret(name, self._environ)

    def in_environment(self, name: str) -> bool:
        """Whether IFN_SECRET_<NAME> is set (non-empty), so no Prefect server is asked."""
        env = os.environ if self._environ is None else self._environ
        return bool(env.get(env_name(name)))


_SECRET_VARIABLE = re.compile(r"TOKEN|SECRET|PASSWORD", re.I)
# A setting that holds a secret's name, what to look up (registry.token_secret_block, an
# account's token_secret, client_secret_secret, refresh_token_secret), not its value.
_SECRET_NAME_SETTING = re.compile(r"__[A-Z0-9_]*_SECRET(?:_BLOCK)?$", re.I)


def values_in_environment(environ: Mapping[str, str] | None = None) -> set[str]:
    """Secret values the environment holds, for the log file to blank: every IFN_ variable
    whose name says token, secret or password (but not the settings that name a secret: its
    name is what an error must show), and the password in IFN_DATABASE__URL."""
    from sqlalchemy.engine import make_url

    env = os.environ if environ is None else environ
    found = {
        v
        for k, v in env.items()
        if k.startswith("IFN_")
        and _SECRET_VARIABLE.search(k)
        and (k.startswith("IFN_SECRET_") or not _SECRET_NAME_SETTING.search(k))
    }
    url = env.get("IFN_DATABASE__URL", "")
    try:
        password = make_url(url).password if url else None
    except Exception:  # not a URL: nothing to take from it
        password = None
    if password:
        found.add(str(password))
    return {v for v in found if v}


# Query parameters that carry a token: Graph's debug_token takes the token it inspects only as
# `input_token`, Google's tokeninfo takes `access_token`; urllib3 logs every request's URL at
# DEBUG level, query string and all.
_TOKEN_IN_QUERY = re.compile(r"((?:^|[?&])(?:input_token|access_token)=)[^&#\s\"']*")


class _TokenQueryFilter(logging.Filter):
    """Blanks token values in the URLs urllib3 logs, so turning DEBUG logging on (or Prefect's
    log capture) can never write a token to a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_QUERY.sub(r"\1[redacted]", record.msg)
        return True


_FILTER = _TokenQueryFilter()


def guard_http_logs() -> None:
    """Install the filter on urllib3's request log (once; called by the clients that must put
    a token in a URL)."""
    logger = logging.getLogger("urllib3.connectionpool")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
