"""Looking a sent notice up in the sending mailbox's Sent folder by its Message-ID (imaplib).

A send cut off after the end of the message went out (`uncertain`) may or may not have been
taken by the server; where the server files what it accepted in a Sent folder, the Message-ID
stored on the row says which: found -> sent, not found -> sent again with the same Message-ID.
An IMAP server that cannot be asked now raises `ImapUnavailable` (the notice stays uncertain and
is asked about again later). The password comes from the secret lookup and is never put in a
message.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Callable

from ifn_campaign.config import NoticesSettings
from ifn_campaign.errors import SettingsError
from ifn_campaign.notices.smtp import ascii_login
from ifn_campaign.notices.smtp import loopback as _loopback

__all__ = ["ImapUnavailable", "in_sent_folder", "searchable"]

# the Message-IDs we make: <local@domain>, nothing IMAP would need to escape
_MESSAGE_ID = re.compile(r"<[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,200}@[A-Za-z0-9.-]{1,200}>")


def searchable(message_id: str) -> bool:
    """Whether `message_id` is one we make, which SEARCH can carry as it is."""
    return bool(_MESSAGE_ID.fullmatch(message_id))


class ImapUnavailable(Exception):
    """The Sent folder could not be searched now (unreachable, login refused, no such folder)."""


def in_sent_folder(
    settings: NoticesSettings, secrets: Callable[[str], str], message_ids: list[str]
) -> set[str]:
    """Which of `message_ids` are in `notices.imap_sent_folder` (SEARCH HEADER Message-ID),
    over one IMAP session. Message-IDs IMAP could not carry as they are raise ValueError."""
    for message_id in message_ids:
        if not _MESSAGE_ID.fullmatch(message_id):
            raise ValueError(f"not a Message-ID to search for: {message_id!r}")
    host = settings.imap_host
    if not host:
        raise ImapUnavailable("notices.imap_host is not set")
    user = settings.imap_user or settings.smtp_user
    secret = settings.imap_password_secret or settings.smtp_password_secret
    where = f"{host}:{settings.imap_port}"
    if user and settings.imap_security == "none" and not _loopback(host):
        raise SettingsError(
            f"notices.imap_security = 'none' with a login would send the IMAP password "
            f"unencrypted to {host}: use 'tls' or 'starttls'"
        )
    try:
        password = secrets(secret) if secret else None
        if user and password is None:
            raise ImapUnavailable(
                "notices.imap_user is set but no password secret is named "
                "(notices.imap_password_secret or notices.smtp_password_secret)"
            )
        context = ssl.create_default_context()
        timeout = settings.smtp_timeout
        if settings.imap_security == "tls":
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                host, settings.imap_port, ssl_context=context, timeout=timeout
            )
        else:
            conn = imaplib.IMAP4(host, settings.imap_port, timeout=timeout)
            if settings.imap_security == "starttls":
                conn.starttls(ssl_context=context)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ImapUnavailable(f"IMAP server {where} not reachable: {_why(exc)}") from None
    found: set[str] = set()
    try:
        if user and password is not None:
            ascii_login(user, password, "IMAP", secret)
            conn.login(user, password)
        status, _ = conn.select(_quoted(settings.imap_sent_folder), readonly=True)
        if status != "OK":
            raise ImapUnavailable(
                f"IMAP server {where} has no folder {settings.imap_sent_folder!r}: correct "
                "notices.imap_sent_folder"
            )
        for message_id in message_ids:
            status, data = conn.search(None, "HEADER", "Message-ID", _quoted(message_id))
            if status != "OK":
                raise ImapUnavailable(f"IMAP SEARCH at {where} refused")
            if data and data[0] and data[0].split():
                found.add(message_id)
    except imaplib.IMAP4.error as exc:
        raise ImapUnavailable(f"IMAP server {where}: {_why(exc)}") from None
    except OSError as exc:
        raise ImapUnavailable(f"IMAP server {where}: {_why(exc)}") from None
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            conn.logout()
    return found


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc)
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text)[:200] or type(exc).__name__
