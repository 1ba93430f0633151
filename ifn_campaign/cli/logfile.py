"""The CLI's log file: where an unexpected error's traceback goes, so the terminal shows one line.

A rotating file (`log.file`, under the data directory by default). Everything written is passed
through `redact` first: secret values we know of (the registry token, `IFN_SECRET_*`, a password
in the database URL) and secret-looking parts of any text (URL passwords, bearer tokens, token
query parameters) never reach the file or the terminal.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from logging.handlers import RotatingFileHandler
from pathlib import Path

from sqlalchemy.engine import make_url

from ifn_campaign.config import LogSettings, Settings
from ifn_campaign.secrets import _MIN_SECRET, _TOKEN_IN_QUERY, BLANK, read_so_far

LOGGER = "ifn_campaign.cli.app"
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@", re.I)
_BEARER = re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/=-]+", re.I)


def secret_values(settings: Settings | None, environment: Iterable[str] = ()) -> set[str]:
    """Every secret value this process may hold: the settings' (registry token, database
    password), `environment`'s (what `secrets.values_in_environment` found in IFN_ variables)
    and every secret read so far (account tokens from Prefect Secret blocks are in no variable)."""
    found = set(environment) | read_so_far()
    if settings is not None:
        if settings.registry.token is not None:
            found.add(settings.registry.token.get_secret_value())
        try:
            password = make_url(settings.database.url).password
        except Exception:  # not a URL: nothing to take from it
            password = None
        if password:
            found.add(str(password))
    return {v for v in found if len(v) >= _MIN_SECRET}


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every known secret value and secret-looking part blanked."""
    for value in sorted(secrets, key=len, reverse=True):  # a longer one may contain a shorter
        text = text.replace(value, BLANK)
    text = _URL_PASSWORD.sub(rf"\1{BLANK}@", text)
    text = _BEARER.sub(rf"\1{BLANK}", text)
    return _TOKEN_IN_QUERY.sub(rf"\1{BLANK}", text)


class _Redacting(logging.Formatter):
    """Blanks secrets in the whole formatted entry, traceback included (a filter sees only the
    message: the traceback is formatted later)."""

    def __init__(self, secrets: set[str]) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def log_unexpected(
    exc: BaseException, settings: Settings | None, command: str, secrets: Iterable[str] = ()
) -> Path:
    """Append `exc` with its traceback to the log file, `secrets` (and what `secret_values`
    finds in the settings) blanked; returns the file's path."""
    config = settings.log if settings is not None else LogSettings()
    path = config.file
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(
        path, maxBytes=config.max_bytes, backupCount=config.backups, encoding="utf-8"
    )
    handler.setFormatter(_Redacting(secret_values(settings, secrets)))
    logger = logging.getLogger(LOGGER)
    logger.propagate = False  # a handler on the root logger would print it to the terminal
    logger.addHandler(handler)
    try:
        logger.error("unexpected error in `ifn-campaign %s`", command, exc_info=exc)
    finally:
        logger.removeHandler(handler)
        handler.close()
    return path
