"""E-mail notices over SMTP (stdlib smtplib), sent so that a crash never makes a second copy.

The message is built from the outbox row as queued (`build_message`): the same subject, parts,
inline card and Message-ID on every try. `SmtpConnection.send` speaks MAIL, RCPT and DATA by
hand and sends the body without its end; then `commit_step` records on the row that the end is
about to go (`step = "data"`), and only then is the final "\\r\\n.\\r\\n" sent. A crash before
that commit leaves a message the server never saw end, which it discards (RFC 5321 4.1.1.4),
so the notice is sent again; a crash after it leaves a row that delivery.py turns `uncertain`,
resolved by its Message-ID in the Sent folder (imap.py) or by staff, never by a blind resend.

Outcomes are exceptions the caller maps to states: `SmtpTemporary` (4xx, refused or broken
connection, timeout: try again later), `SmtpAddressRefused` (5xx at RCPT: the member's address
is bad), `SmtpMessageRefused` (5xx at DATA or its end: this message), `SmtpUncertain` (cut off
after the end of the message was sent), `SmtpClaimLost`; a server that refuses our sender, our
login or our TLS settings raises `SettingsError` naming the setting: that is our configuration,
not the member's, and no notice is charged for it. No password is ever put in a message.
"""

from __future__ import annotations

import contextlib
import mimetypes
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from pathlib import Path
from types import TracebackType
from typing import Self

from ifn_campaign.config import NoticesSettings, Settings, loopback
from ifn_campaign.errors import SettingsError
from ifn_campaign.models import Notice
from ifn_campaign.notices.contacts import ContactRefused, email_address
from ifn_campaign.secrets import blank_read_secrets

__all__ = [
    "SmtpAddressRefused",
    "SmtpClaimLost",
    "SmtpConnection",
    "SmtpDown",
    "SmtpMessageRefused",
    "SmtpTemporary",
    "SmtpUncertain",
    "SmtpUnreachable",
    "ascii_login",
    "bare_address",
    "build_message",
    "loopback",
]

_REPLY_TEXT = 300  # characters of a server's reply kept in `last_error`


class SmtpTemporary(Exception):
    """The server or the network said "not now" (4xx, refused, reset, timeout)."""


class SmtpUnreachable(SmtpTemporary):
    """The server could not be reached at all (the run's other e-mails need not try)."""


class SmtpDown(SmtpUnreachable):
    """No session with the server to send in (none at all, or refused for now before any
    message): the message was never tried, so it costs the notice no try (an outage of hours
    must not use up `notices.max_attempts`)."""


class SmtpAddressRefused(Exception):
    """A permanent refusal of the recipient (5xx at RCPT, or not an address at all)."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.code = code


class SmtpMessageRefused(Exception):
    """A permanent refusal of this message (5xx at DATA or at its end), not of the address."""


class SmtpUncertain(Exception):
    """The end of the message went out but no answer came: the server may hold it."""


class SmtpClaimLost(Exception):
    """Another worker holds the notice now: the message was abandoned before its end."""


def bare_address(header: str) -> str:
    """'Name <a@b>' -> 'a@b' (the envelope sender of `notices.sender`)."""
    return parseaddr(header)[1]


def _reply(code: int, text: bytes | str) -> str:
    """A server reply for `last_error`: code and text, control characters dropped, short."""
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    clean = blank_read_secrets(re.sub(r"[\x00-\x1f\x7f]+", " ", raw).strip())
    return f"{code} {clean[:_REPLY_TEXT]}".strip()


def _content_id(cid: str) -> str:
    return cid.strip().strip("<>")


def build_message(
    notice: Notice, settings: Settings, *, unsubscribe: str, now: datetime
) -> EmailMessage:
    """The e-mail of an outbox row: From, To, Reply-To, Subject, Date, its stored Message-ID,
    List-Unsubscribe (one click, RFC 8058), a text part and, if the row has one, an HTML part
    related to its inline images (attachments with a cid; others attached). ValueError if a
    header or a file is unusable (the notice cannot be sent as it is)."""
    cfg = settings.notices
    msg = EmailMessage(policy=SMTP)
    msg["From"] = _address(cfg.sender, "notices.sender")
    msg["To"] = notice.to_address
    if cfg.reply_to:
        msg["Reply-To"] = _address(cfg.reply_to, "notices.reply_to")
    msg["Subject"] = notice.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = notice.message_id
    msg["List-Unsubscribe"] = f"<{unsubscribe}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg["Content-Language"] = notice.language
    msg.set_content(notice.text_body, subtype="plain", charset="utf-8")
    if not isinstance(notice.attachments, list):  # a hand-edited row: null, a map, a string
        raise ValueError("the notice's attachments are not a list")
    files = [_attachment(settings, item) for item in notice.attachments]
    if notice.html_body is not None:
        msg.add_alternative(notice.html_body, subtype="html", charset="utf-8")
        html = msg.get_payload()[1]  # type: ignore[index]
        for data, mime, cid, _ in files:
            if cid:
                maintype, subtype = mime.split("/", 1)
                html.add_related(data, maintype, subtype, cid=f"<{cid}>", disposition="inline")
    for data, mime, cid, name in files:
        if not cid or notice.html_body is None:
            maintype, subtype = mime.split("/", 1)
            msg.add_attachment(data, maintype, subtype, filename=name)
    return msg


def _address(setting: str, name: str) -> Address:
    """A configured 'Name <a@b>' as a header address: the name quoted as written (parentheses
    in 'Indonesia Footwear Network (BPIPI)' would otherwise read as a comment)."""
    display, addr = parseaddr(setting)
    if not addr or "@" not in addr:
        raise SettingsError(f"{name} = {setting!r} is not an e-mail address ('Name <a@b>')")
    return Address(display_name=display, addr_spec=addr)


def _attachment(settings: Settings, item: dict[str, str]) -> tuple[bytes, str, str, str]:
    """(bytes, mime, cid, file name) of a stored attachment; ValueError naming what is wrong."""
    if not isinstance(item, dict):
        raise ValueError("an attachment that is not a map of path, mime and cid")
    stored = item.get("path")
    if not stored or not isinstance(stored, str):
        raise ValueError("an attachment without a path")
    path = settings.path(stored).resolve()
    folders = [settings.base.resolve(), settings.path(settings.cards.cache_dir).resolve()]
    if not any(path.is_relative_to(folder) for folder in folders):
        # a row pointing elsewhere (a hand edit) must not mail a file of this machine
        raise ValueError(f"attachment {path.name} is outside the data and cards folders")
    mime = str(item.get("mime") or mimetypes.guess_type(path.name)[0] or "application/octet-stream")
    if not re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", mime):
        raise ValueError(f"attachment {path.name}: unusable type {mime!r}")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"attachment {path.name} cannot be read: {exc.strerror or exc}") from None
    return data, mime, _content_id(str(item.get("cid") or "")), path.name


def _wire(message: EmailMessage) -> bytes:
    """The message as DATA carries it: CRLF line ends, dot-stuffed, without its final CRLF
    (the caller sends "\\r\\n.\\r\\n" as the end, after recording it is about to)."""
    raw = message.as_bytes()  # ASCII: the addresses are (contacts.py), the rest is encoded
    raw = re.sub(rb"\r\n|\r|\n", b"\r\n", raw)
    raw = re.sub(rb"(?m)^\.", b"..", raw)
    return raw.removesuffix(b"\r\n")


class SmtpConnection:
    """One SMTP session, opened on first use and reused for a run's notices; a broken one is
    closed and the next send opens another. `password` comes from the secret lookup."""

    def __init__(self, settings: NoticesSettings, password: str | None) -> None:
        if not settings.smtp_host:
            raise SettingsError("notices.smtp_host is not set: no e-mail can be sent")
        self.cfg = settings
        self._password = password
        self._conn: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"{self.cfg.smtp_host}:{self.cfg.smtp_port}"

    def open(self) -> smtplib.SMTP:
        """A logged-in session (STARTTLS or TLS as configured); SmtpTemporary if the server
        cannot be reached now, SettingsError if it refuses our settings."""
        if self._conn is not None:
            return self._conn
        cfg = self.cfg
        host = str(cfg.smtp_host)
        if cfg.smtp_user and cfg.smtp_security == "none" and not loopback(host):
            raise SettingsError(
                f"notices.smtp_security = 'none' with notices.smtp_user set would send the SMTP "
                f"password unencrypted to {host}: use 'starttls' or 'tls'"
            )
        context = ssl.create_default_context()
        name = socket.gethostname()  # EHLO name; no DNS lookup (getfqdn can hang)
        try:
            if cfg.smtp_security == "tls":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    host,
                    cfg.smtp_port,
                    local_hostname=name,
                    timeout=cfg.smtp_timeout,
                    context=context,
                )
            else:
                conn = smtplib.SMTP(
                    host, cfg.smtp_port, local_hostname=name, timeout=cfg.smtp_timeout
                )
        except ssl.SSLError as exc:
            raise self._tls_error(exc) from None
        except smtplib.SMTPConnectError as exc:
            error = self._temporary_or_settings("connect", exc.smtp_code, exc.smtp_error)
            raise _down(error) from None
        except OSError as exc:
            raise SmtpDown(self._unreachable(exc)) from None
        _no_delay(conn)
        try:
            self._greet(conn, context)
        except SmtpTemporary as exc:
            _close(conn)
            raise _down(exc) from None
        except BaseException:
            _close(conn)
            raise
        self._conn = conn
        return conn

    def check(self) -> None:
        """Open the session (connection, TLS, login) and ask NOOP, so a server that greets and
        then hangs is found too: what `ifn-campaign doctor` does; nothing is sent. Raises as
        `open` does."""
        conn = self.open()
        try:
            code, text = conn.noop()
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise self._broken(exc) from None
        if code != 250:
            raise self._temporary_or_settings("NOOP", code, text)

    def _unreachable(self, exc: OSError) -> str:
        """Why no connection could be made, in words staff act on, naming the setting: a name
        that does not resolve (a typo in the host), nothing listening, or no answer at all."""
        where = f"SMTP server {self.where} not reachable"
        if isinstance(exc, socket.gaierror):
            return (
                f"{where}: the name {self.cfg.smtp_host} is not known (DNS: "
                f"{exc.strerror or exc}): check notices.smtp_host"
            )
        if isinstance(exc, ConnectionRefusedError):
            return (
                f"{where}: nothing answers on port {self.cfg.smtp_port} (connection refused): "
                "the server is down, or notices.smtp_port is wrong"
            )
        if _timed_out(exc):
            return (
                f"{where}: timed out, no answer in {self.cfg.smtp_timeout:g} s: the server is "
                "down or a firewall drops the connection; check notices.smtp_host and "
                "notices.smtp_port"
            )
        return f"{where}: {_oserror(exc)}: check notices.smtp_host and notices.smtp_port"

    def _greet(self, conn: smtplib.SMTP, context: ssl.SSLContext) -> None:
        cfg = self.cfg
        try:
            code, text = conn.ehlo()
            if code != 250:
                raise self._temporary_or_settings("EHLO", code, text)
            if cfg.smtp_security == "starttls":
                if not conn.has_extn("starttls"):
                    raise SettingsError(
                        f"the SMTP server {self.where} does not offer STARTTLS: correct "
                        "notices.smtp_port (587 for STARTTLS, 465 with notices.smtp_security = "
                        "'tls') or notices.smtp_security"
                    )
                code, text = conn.starttls(context=context)
                if code != 220:
                    raise self._temporary_or_settings("STARTTLS", code, text)
                conn.ehlo()
            if cfg.smtp_user:
                if not conn.has_extn("auth"):
                    raise SettingsError(
                        f"the SMTP server {self.where} offers no login (AUTH) on this connection: "
                        "unset notices.smtp_user, or use notices.smtp_security = 'starttls'"
                    )
                if self._password is None:
                    raise SettingsError(
                        "notices.smtp_user is set but notices.smtp_password_secret is not: name "
                        "the secret holding the SMTP password"
                    )
                ascii_login(cfg.smtp_user, self._password, "SMTP", cfg.smtp_password_secret)
                conn.login(cfg.smtp_user, self._password)
        except smtplib.SMTPAuthenticationError as exc:
            if 400 <= exc.smtp_code < 500 or exc.smtp_code == -1:  # -1: a reply that is none
                raise SmtpTemporary(
                    f"SMTP login at {self.where} not possible now: "
                    f"{_reply(exc.smtp_code, exc.smtp_error)}"
                ) from None
            raise SettingsError(
                f"the SMTP server {self.where} refused the login of notices.smtp_user "
                f"{cfg.smtp_user!r} ({_reply(exc.smtp_code, exc.smtp_error)}): check the user and "
                f"the password in the secret {cfg.smtp_password_secret!r}"
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise SettingsError(
                f"the SMTP server {self.where} does not support the login or TLS asked for: "
                "check notices.smtp_security and notices.smtp_user"
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise self._temporary_or_settings("greeting", exc.smtp_code, exc.smtp_error) from None
        except ssl.SSLError as exc:
            raise self._tls_error(exc) from None
        except (smtplib.SMTPException, OSError) as exc:  # disconnected and the like
            raise self._broken(exc) from None

    def _broken(self, exc: BaseException) -> SmtpTemporary:
        """A session broken before the end of a message. A server that stopped answering
        (a timeout) is `SmtpUnreachable`, so the run's other notices do not each wait
        `notices.smtp_timeout` for it again: a server that greets and then hangs held a run of
        `notices.batch` notices for batch x timeout (100 minutes with the defaults), past the
        claims' lease."""
        if _timed_out(exc):
            return SmtpUnreachable(
                f"SMTP server {self.where} stopped answering (no reply in "
                f"{self.cfg.smtp_timeout:g} s)"
            )
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return SmtpTemporary(f"SMTP server {self.where} closed the connection: {exc}")
        return SmtpTemporary(f"SMTP server {self.where}: {_oserror(exc)}")

    def _tls_error(self, exc: ssl.SSLError) -> SettingsError:
        return SettingsError(
            f"TLS with the SMTP server {self.where} failed ({exc.reason or type(exc).__name__}): "
            "check notices.smtp_host (the name on its certificate), notices.smtp_port and "
            "notices.smtp_security"
        )

    def _temporary_or_settings(self, at: str, code: int, text: bytes | str) -> Exception:
        if 400 <= code < 500 or code == -1:
            return SmtpTemporary(f"SMTP {at} at {self.where}: {_reply(code, text)}")
        return SettingsError(
            f"the SMTP server {self.where} refused {at} ({_reply(code, text)}): check the "
            "[notices] SMTP settings"
        )

    def send(
        self,
        message: EmailMessage,
        sender: str,
        recipient: str,
        *,
        commit_step: Callable[[], bool],
        reached: Callable[[str], None] | None = None,
    ) -> str:
        """Send `message` to `recipient`; returns the server's final reply. `commit_step` is
        called after the body and before its end: it records `step = "data"` and returns
        False if the claim was lost (then the message is abandoned, never ended)."""
        try:
            recipient = email_address(recipient)  # the outbox's own check, again at the door
        except ContactRefused as exc:
            raise SmtpAddressRefused(str(exc)) from None
        body = _wire(message)
        conn = self.open()
        at = (lambda point: None) if reached is None else reached
        try:
            code, text = conn.mail(sender)
            if code != 250:
                self._reset(conn)
                if 400 <= code < 500:
                    raise SmtpTemporary(f"MAIL FROM refused for now: {_reply(code, text)}")
                raise SettingsError(
                    f"the SMTP server {self.where} refused our sender {sender!r} "
                    f"({_reply(code, text)}): set notices.sender to an address it lets us send as"
                )
            code, text = conn.rcpt(recipient)
            if code not in (250, 251):
                self._reset(conn)
                if 400 <= code < 500:
                    raise SmtpTemporary(f"RCPT TO refused for now: {_reply(code, text)}")
                raise SmtpAddressRefused(_reply(code, text), code)
            conn.putcmd("data")
            code, text = conn.getreply()
            if code != 354:
                self._reset(conn)
                if 400 <= code < 500:
                    raise SmtpTemporary(f"DATA refused for now: {_reply(code, text)}")
                raise SmtpMessageRefused(f"DATA refused: {_reply(code, text)}")
            conn.send(body)
            at("body")
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise self._broken(exc) from None
        if not commit_step():
            self.close()  # the server never sees the end: it discards the message
            raise SmtpClaimLost("another worker holds the notice")
        at("step")
        try:
            conn.send(b"\r\n.\r\n")
            code, text = conn.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise SmtpUncertain(
                f"no answer after the end of the message ({_oserror(exc)}): the server may "
                "have taken it"
            ) from None
        at("dot")
        if code == 250:
            return _reply(code, text)
        if 400 <= code < 500:
            raise SmtpTemporary(f"the end of the message refused for now: {_reply(code, text)}")
        if code == -1:  # smtplib's "connection closed" answer
            self.close()
            raise SmtpUncertain("the connection closed after the end of the message")
        raise SmtpMessageRefused(f"message refused: {_reply(code, text)}")

    def _reset(self, conn: smtplib.SMTP) -> None:
        """RSET after a refusal, so the session can carry the next notice; closed if it fails."""
        try:
            code, _ = conn.rset()
        except (smtplib.SMTPException, OSError):
            code = 0
        if code != 250:
            self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            _close(conn)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if exc is None:
            try:
                conn.quit()
                return
            except (smtplib.SMTPException, OSError):
                pass
        _close(conn)


def _down(error: Exception) -> Exception:
    """A temporary failure before any message was started (a 421 greeting, EHLO or login
    refused for now, the session cut or silent before MAIL FROM) is `SmtpDown`: the server is
    not taking mail now, whatever the message; it costs no try, and the run's other notices
    wait without opening sessions of their own (a rate limit's 421 for two hours failed a
    batch, each notice reconnecting to be told the same)."""
    if isinstance(error, SmtpTemporary) and not isinstance(error, SmtpDown):
        return SmtpDown(str(error))
    return error


def _no_delay(conn: smtplib.SMTP) -> None:
    """Each write leaves at once (TCP_NODELAY). The end of DATA is a write of its own, after the
    step's commit; with Nagle's algorithm those 5 bytes wait for the server to acknowledge the
    body, which it delays (40 ms on Linux, up to 200 ms on other systems): bench/notices_bench.py
    measured 54 ms a 3 KB message on loopback, 12-15 ms with it."""
    if conn.sock is not None:
        with contextlib.suppress(OSError):
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _close(conn: smtplib.SMTP) -> None:
    """Drop the connection without QUIT (a message in progress is discarded by the server)."""
    with contextlib.suppress(OSError):
        conn.close()


def ascii_login(user: str, password: str, protocol: str, secret: str | None) -> None:
    """smtplib and imaplib send a login only in ASCII (UnicodeEncodeError otherwise, out of
    the run with its notices still claimed): other letters are refused here, naming the
    setting and the secret, never the value."""
    if not user.isascii():
        raise SettingsError(
            f"notices.{protocol.lower()}_user has letters other than ASCII, which {protocol} "
            "login here cannot send: use the server's ASCII login name"
        )
    if not password.isascii():
        raise SettingsError(
            f"the {protocol} password in the secret {secret!r} has letters other than ASCII, "
            f"which {protocol} login here cannot send: set an ASCII password (or app password)"
        )


def _timed_out(exc: BaseException) -> bool:
    """A timeout, also as smtplib reports one while reading a reply (SMTPServerDisconnected
    raised from the TimeoutError)."""
    return isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError)


def _oserror(exc: BaseException) -> str:
    if _timed_out(exc):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
