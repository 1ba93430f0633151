"""A local mail server for the demo, the rehearsal and the notice tests: SMTP submission
(aiosmtpd) that files every accepted message in a Maildir, as Gmail or Microsoft 365 file what
they accept in the sender's Sent folder, and a minimal read-only IMAP4rev1 server on that
Maildir, so a sender cut off between sending and marking can look its Message-ID up there.

```
with MailSandbox(Path("var/demo/mail"), user="ifn", password="...") as mail:
    mail.fail_next(451)            # the next RCPT gets a temporary refusal
    mail.drop_after_data()         # the next message is stored, then the line drops (no 250)
    ... smtplib.SMTP("127.0.0.1", mail.smtp_port) ...
    mail.messages()                # what it accepted, in order
```

Loopback only: it speaks plain text and lets a client log in without TLS, which is safe on
this machine and nowhere else, so it refuses to bind any other address.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import hmac
import ipaddress
import logging
import mailbox
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

__all__ = ["MailSandbox", "serve"]

FaultStage = Literal["mail", "rcpt", "data"]
_STAGES: tuple[str, ...] = ("mail", "rcpt", "data")
_REPLIES = {  # what a real server says with these codes
    421: "421 4.3.2 Service not available, closing channel (sandbox fault)",
    450: "450 4.2.1 Mailbox busy, try again later (sandbox fault)",
    451: "451 4.3.0 Temporary local problem, try again later (sandbox fault)",
    452: "452 4.3.1 Insufficient system storage (sandbox fault)",
    550: "550 5.1.1 No such user here (sandbox fault)",
    552: "552 5.3.4 Message too big (sandbox fault)",
    553: "553 5.1.3 Mailbox name not allowed (sandbox fault)",
    554: "554 5.7.1 Transaction failed (sandbox fault)",
}
DATA_SIZE_LIMIT = 25 * 1024 * 1024  # Gmail's limit for a message
IMAP_LINE_LIMIT = 8192  # bytes of one IMAP command line
IMAP_IDLE_SECONDS = 300.0  # an IMAP connection silent this long is closed
LINGER_SECONDS = 1.0  # how long a closing connection drains what the client still sends
IMAP_BAD_BUDGET = 20  # BAD answers one IMAP connection gets before it is closed


class _QuietDeprecation(logging.Filter):
    """aiosmtpd 1.4 logs a warning of its own API's deprecation on every successful AUTH,
    which would reach the demo's terminal; everything else it logs stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_QuietDeprecation())


@dataclass
class _Fault:
    code: int
    times: int
    at: str


class MailSandbox:
    """SMTP on `smtp_port` and IMAP on `imap_port` (0: any free port) of a loopback `host`,
    both on the Maildir at `maildir`; with `user` and `password`, SMTP requires AUTH
    (PLAIN or LOGIN) and IMAP a LOGIN with them; without, SMTP takes mail from anyone (and
    any AUTH) and IMAP greets with PREAUTH, no login needed (RFC 3501 7.1.4). The IMAP server
    shows the Maildir as the folder `sent_folder`."""

    def __init__(
        self,
        maildir: Path,
        *,
        host: str = "127.0.0.1",
        smtp_port: int = 0,
        imap_port: int = 0,
        user: str | None = None,
        password: str | None = None,
        sent_folder: str = "Sent",
    ) -> None:
        if not _is_loopback(host):
            raise ValueError(
                f"the mail sandbox listens on loopback only (127.0.0.1, ::1), not {host!r}: it "
                "takes passwords without TLS"
            )
        if (user is None) != (password is None):
            raise ValueError("give both user and password, or neither")
        if not sent_folder or any(ch in sent_folder for ch in '\r\n"\\'):
            raise ValueError(f"sent_folder {sent_folder!r}: not a usable folder name")
        self.maildir = Path(maildir)
        self.host = host
        self.smtp_port = smtp_port
        self.imap_port = imap_port
        self.user = user
        self._password = password
        self.sent_folder = sent_folder
        self._lock = threading.Lock()
        self._store_lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._drops = 0
        self._accepted: list[str] = []  # Maildir keys, in the order accepted
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.base_events.Server] = []
        self._transports: set[asyncio.BaseTransport] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> MailSandbox:
        """Bind both ports (an OSError here when one is taken, nothing left running) and
        serve them from a thread of their own."""
        if self._thread is not None:
            return self
        for sub in ("cur", "new", "tmp"):  # a Maildir, whether or not the folder was there
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        smtp_sock = socket.create_server((self.host, self.smtp_port), family=family)
        try:
            imap_sock = socket.create_server((self.host, self.imap_port), family=family)
        except OSError:
            smtp_sock.close()
            raise
        self.smtp_port = smtp_sock.getsockname()[1]
        self.imap_port = imap_sock.getsockname()[1]
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        async def serve() -> None:
            try:
                self._servers = [
                    await loop.create_server(self._smtp_protocol, sock=smtp_sock),
                    await asyncio.start_server(
                        self._imap_client, sock=imap_sock, limit=IMAP_LINE_LIMIT
                    ),
                ]
            except BaseException as exc:  # handed to start()
                failure.append(exc)
            finally:
                ready.set()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(serve())
            loop.run_forever()
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="mail-sandbox", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self.stop()
            raise failure[0]
        return self

    def stop(self) -> None:
        """Close both servers and every open connection; the ports are free afterwards."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shut() -> None:
            for server in self._servers:
                server.close()
            for transport in list(self._transports):
                transport.abort()
            for server in self._servers:
                await server.wait_closed()
            await asyncio.sleep(0)  # the aborted connections' tasks end on their own
            current = asyncio.current_task()
            tasks = [task for task in asyncio.all_tasks() if task is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(RuntimeError):  # the loop already stopped
            asyncio.run_coroutine_threadsafe(shut(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = self._thread = None
        self._servers = []
        self._transports.clear()

    def __enter__(self) -> MailSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests and the demo ask ---------------------------------------------------------

    def messages(self) -> list[EmailMessage]:
        """Every message this server accepted since it was made, in order, as parsed."""
        return [_parse(data) for data in self.raw_messages()]

    def raw_messages(self) -> list[bytes]:
        """The same messages as the bytes stored (what a .eml file holds)."""
        with self._lock:
            keys = list(self._accepted)
        box = mailbox.Maildir(self.maildir, create=False)
        return [box.get_bytes(key) for key in keys]

    def fail_next(self, code: int, times: int = 1, at: FaultStage = "rcpt") -> None:
        """Refuse the next `times` MAIL, RCPT or DATA commands (`at`) with `code` (4xx
        temporary, 5xx permanent); a refused DATA stores nothing."""
        if at not in _STAGES:
            raise ValueError(f"at={at!r}: one of {', '.join(_STAGES)}")
        if not 400 <= code <= 599:
            raise ValueError(f"code {code}: a refusal is a 4xx or 5xx code")
        if times < 1:
            raise ValueError(f"times={times}: at least 1")
        with self._lock:
            self._faults.append(_Fault(code, times, at))

    def drop_after_data(self, times: int = 1) -> None:
        """For the next `times` messages: store the message, then close the connection
        without the 250 reply, so the sender cannot know it went."""
        if times < 1:
            raise ValueError(f"times={times}: at least 1")
        with self._lock:
            self._drops += times

    # -- SMTP --------------------------------------------------------------------------------

    def _smtp_protocol(self) -> SMTP:
        # auth is required by the MAIL hook, not by aiosmtpd's auth_required, which warns
        # about auth without TLS; without TLS is what loopback allows
        return _TrackedSMTP(
            self,
            _SmtpHandler(self),
            hostname="ifn-mail-sandbox",
            ident="IFN mail sandbox",
            data_size_limit=DATA_SIZE_LIMIT,
            enable_SMTPUTF8=True,
            auth_require_tls=False,
            authenticator=self._authenticate,
            loop=self._loop,
        )

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        """AUTH PLAIN / LOGIN against `user` and `password` (any login without them, as a
        client configured with one may still try it)."""
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = data.login.decode("utf-8", "replace")
        password = data.password.decode("utf-8", "replace")
        return AuthResult(success=self._credentials_ok(login, password), handled=False)

    def _credentials_ok(self, login: str, password: str) -> bool:
        if self.user is None or self._password is None:
            return True
        user_ok = hmac.compare_digest(login.encode(), self.user.encode())
        return hmac.compare_digest(password.encode(), self._password.encode()) and user_ok

    def _fault(self, stage: str) -> str | None:
        """The refusal due at `stage`, if one is queued (used up one time)."""
        with self._lock:
            for fault in self._faults:
                if fault.at == stage:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return _REPLIES.get(fault.code, f"{fault.code} Refused (sandbox fault)")
        return None

    def _store(self, content: bytes) -> bool:
        """File `content` in the Maildir (whole: written in tmp/, then renamed into new/);
        True when the connection is to drop instead of replying."""
        with self._store_lock:  # Maildir names its files with a counter that is not atomic
            key = mailbox.Maildir(self.maildir, create=False).add(content)
        with self._lock:
            self._accepted.append(key)
            if self._drops:
                self._drops -= 1
                return True
        return False

    # -- IMAP --------------------------------------------------------------------------------

    async def _imap_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._transports.add(writer.transport)
        try:
            await _ImapSession(self, reader, writer).serve()
            await _linger(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        except asyncio.CancelledError:  # stop(): the connection's task ends here, quietly
            pass
        finally:
            self._transports.discard(writer.transport)
            writer.close()

    def _sent(self) -> list[tuple[int, str]]:
        """(UID, Maildir key) of every message in the folder, in the order they arrived."""
        box = mailbox.Maildir(self.maildir, create=False)
        keys = sorted(box.keys(), key=_arrival)
        return [(uid, key) for uid, key in enumerate(keys, start=1)]

    def _header(self, key: str, field: str) -> list[str]:
        box = mailbox.Maildir(self.maildir, create=False)
        try:
            with box.get_file(key) as handle:
                headers = BytesHeaderParser(policy=email.policy.compat32).parse(handle)
        except (KeyError, OSError):
            return []
        return [str(value) for value in headers.get_all(field, [])]


class _TrackedSMTP(SMTP):
    """aiosmtpd's SMTP, its connections known to the sandbox so `stop()` can close them."""

    def __init__(self, sandbox: MailSandbox, handler: Any, **options: Any) -> None:
        super().__init__(handler, **options)
        self._sandbox = sandbox

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._sandbox._transports.add(transport)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self.transport is not None:
            self._sandbox._transports.discard(self.transport)
        super().connection_lost(error)


class _SmtpHandler:
    """aiosmtpd hooks: authentication required, the faults, and storage."""

    def __init__(self, sandbox: MailSandbox) -> None:
        self.sandbox = sandbox

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if self.sandbox.user is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        refusal = self.sandbox._fault("mail")
        if refusal:
            return refusal
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal = self.sandbox._fault("rcpt")
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        refusal = self.sandbox._fault("data")
        if refusal:
            return refusal
        content = envelope.original_content or b""
        loop = asyncio.get_running_loop()
        drop = await loop.run_in_executor(None, self.sandbox._store, content)
        if drop and server.transport is not None:
            server.transport.abort()  # stored, and the 250 never leaves
        return "250 OK: queued"


def serve(maildir: Path, host: str, smtp_port: int, imap_port: int) -> None:
    """`ifn-campaign sandbox mail`: serve `maildir` until Ctrl+C, no login needed (any SMTP
    AUTH is taken; IMAP greets with PREAUTH)."""
    from ifn_campaign.cli.base import out
    from ifn_campaign.errors import InvalidValueError

    try:
        sandbox = MailSandbox(maildir, host=host, smtp_port=smtp_port, imap_port=imap_port)
        sandbox.start()
    except ValueError as exc:
        raise InvalidValueError(str(exc)) from None
    except OSError as exc:
        raise InvalidValueError(
            f"the mail sandbox cannot listen on port {smtp_port} or {imap_port} "
            f"({exc.strerror or exc}): stop what uses it or pass --smtp-port 0 --imap-port 0 "
            "for any free ports"
        ) from None
    with sandbox:
        out.print(
            f"mail sandbox: SMTP on {host}:{sandbox.smtp_port}, IMAP on {host}:"
            f"{sandbox.imap_port} (folder {sandbox.sent_folder!r}), messages filed in "
            f"{sandbox.maildir.resolve()} (a Maildir); Ctrl+C to stop",
            soft_wrap=True,
            markup=False,
            highlight=False,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            out.print("stopped")


# -- IMAP ------------------------------------------------------------------------------------

_ATOM = re.compile(rb'[^\x00-\x20\x7f(){%*"\\\]]+')
_TAG = re.compile(rb"[^\x00-\x20\x7f(){%*\"\\+]+")


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Close the way real servers do: stop writing, then read and drop what the client still
    sends, briefly. Closing with unread input makes the kernel send a reset, which can destroy
    our last answer (the BYE) before the client reads it."""
    if writer.can_write_eof():
        writer.write_eof()
    deadline = asyncio.get_running_loop().time() + LINGER_SECONDS
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            if not await asyncio.wait_for(reader.read(65536), left):
                return
        except (TimeoutError, ConnectionError):
            return


class _Bad(Exception):
    """A command the server answers with a tagged BAD."""


class _ImapSession:
    """One IMAP connection: not authenticated -> authenticated -> selected -> logout."""

    def __init__(
        self, sandbox: MailSandbox, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.sandbox = sandbox
        self.reader = reader
        self.writer = writer
        self.authenticated = sandbox.user is None  # no credentials: PREAUTH
        self.selected = False
        self.exists = 0
        self.bad = 0
        self.commands: dict[str, Callable[[str, list[bytes]], Coroutine[Any, Any, bool]]] = {
            "CAPABILITY": self._capability,
            "NOOP": self._noop,
            "LOGOUT": self._logout,
            "LOGIN": self._login,
            "SELECT": self._select,
            "EXAMINE": self._examine,
            "SEARCH": self._search,
            "UID": self._uid,
        }

    async def send(self, line: str) -> None:
        self.writer.write(line.encode("utf-8") + b"\r\n")
        await self.writer.drain()

    async def serve(self) -> None:
        greeting = "PREAUTH" if self.authenticated else "OK"
        await self.send(f"* {greeting} [CAPABILITY IMAP4rev1] IFN mail sandbox ready (read-only)")
        while True:
            try:
                line = await asyncio.wait_for(self.reader.readuntil(b"\n"), IMAP_IDLE_SECONDS)
            except (asyncio.LimitOverrunError, ValueError):
                await self.send("* BYE line too long")
                return
            except asyncio.IncompleteReadError:
                return  # the client went away
            except TimeoutError:
                await self.send("* BYE idle too long")
                return
            tag = "*"
            try:
                tag, rest = _split_tag(line)
                command, args = _parse_command(rest)
                handler = self.commands.get(command)
                if handler is None:
                    raise _Bad(f"{command or 'empty command'} is not supported here")
                if not await handler(tag, args):
                    return
            except _Bad as exc:
                self.bad += 1
                await self.send(f"{tag} BAD {exc}")
                if self.bad >= IMAP_BAD_BUDGET:
                    await self.send("* BYE too many bad commands")
                    return

    async def _capability(self, tag: str, args: list[bytes]) -> bool:
        _no_args(args)
        await self.send("* CAPABILITY IMAP4rev1")
        await self.send(f"{tag} OK CAPABILITY completed")
        return True

    async def _noop(self, tag: str, args: list[bytes]) -> bool:
        _no_args(args)
        if self.selected:
            await self._exists()
        await self.send(f"{tag} OK NOOP completed")
        return True

    async def _logout(self, tag: str, args: list[bytes]) -> bool:
        _no_args(args)
        await self.send("* BYE IFN mail sandbox logging out")
        await self.send(f"{tag} OK LOGOUT completed")
        return False

    async def _login(self, tag: str, args: list[bytes]) -> bool:
        if self.authenticated:
            raise _Bad("already authenticated")
        if len(args) != 2:
            raise _Bad("LOGIN takes a user name and a password")
        user, password = (arg.decode("utf-8", "replace") for arg in args)
        if not self.sandbox._credentials_ok(user, password):
            await self.send(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials")
            return True
        self.authenticated = True
        await self.send(f"{tag} OK [CAPABILITY IMAP4rev1] LOGIN completed")
        return True

    async def _examine(self, tag: str, args: list[bytes]) -> bool:
        return await self._select(tag, args, command="EXAMINE")

    async def _select(self, tag: str, args: list[bytes], *, command: str = "SELECT") -> bool:
        """SELECT or EXAMINE of the one folder (nothing can be changed either way)."""
        self._need_login()
        if len(args) != 1:
            raise _Bad("SELECT takes one folder name")
        self.selected = False
        name = args[0].decode("utf-8", "replace")
        if name != self.sandbox.sent_folder:
            await self.send(f"{tag} NO [NONEXISTENT] No folder {name!r} here")
            return True
        sent = await self._scan()
        self.exists = len(sent)
        self.selected = True
        uidvalidity = zlib.crc32(str(self.sandbox.maildir.resolve()).encode()) or 1
        await self.send(r"* FLAGS (\Seen)")
        await self.send(f"* {self.exists} EXISTS")
        await self.send("* 0 RECENT")
        await self.send(f"* OK [UIDVALIDITY {uidvalidity}] UIDs valid")
        await self.send(f"* OK [UIDNEXT {self.exists + 1}] Predicted next UID")
        await self.send("* OK [PERMANENTFLAGS ()] No permanent flags permitted")
        # imaplib's select() refuses a READ-ONLY answer to SELECT: as Gmail, SELECT says
        # READ-WRITE (there is no command that writes) and EXAMINE READ-ONLY
        mode = "READ-ONLY" if command == "EXAMINE" else "READ-WRITE"
        await self.send(f"{tag} OK [{mode}] {command} completed")
        return True

    async def _search(self, tag: str, args: list[bytes], *, uid: bool = False) -> bool:
        """SEARCH [CHARSET c] (ALL | HEADER field value)...: the criteria all hold."""
        self._need_login()
        if not self.selected:
            raise _Bad("no folder selected")
        criteria = list(args)
        if criteria and criteria[0].upper() == b"CHARSET":
            if len(criteria) < 2 or criteria[1].upper() not in (b"UTF-8", b"US-ASCII"):
                await self.send(f"{tag} NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset")
                return True
            criteria = criteria[2:]
        tests: list[tuple[str, str]] = []
        while criteria:
            word = criteria.pop(0).upper()
            if word == b"ALL":
                continue
            if word == b"HEADER" and len(criteria) >= 2:
                field = criteria.pop(0).decode("utf-8", "replace")
                value = criteria.pop(0).decode("utf-8", "replace")
                tests.append((field, value.casefold()))
                continue
            raise _Bad("only SEARCH [CHARSET c] ALL and HEADER <field> <string> are supported")
        sent = await self._scan()
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, self._matching, sent, tests)
        await self._exists(len(sent))
        numbers = [uid_ if uid else number for number, uid_ in found]
        await self.send(" ".join(["* SEARCH", *map(str, numbers)]))
        await self.send(f"{tag} OK {'UID SEARCH' if uid else 'SEARCH'} completed")
        return True

    def _matching(
        self, sent: list[tuple[int, str]], tests: list[tuple[str, str]]
    ) -> list[tuple[int, int]]:
        """(sequence number, UID) of each message whose headers hold every test's string."""
        found = []
        for number, (uid, key) in enumerate(sent, start=1):
            if all(
                any(value in text.casefold() for text in self.sandbox._header(key, field))
                for field, value in tests
            ):
                found.append((number, uid))
        return found

    async def _uid(self, tag: str, args: list[bytes]) -> bool:
        if not args or args[0].upper() != b"SEARCH":
            raise _Bad("only UID SEARCH is supported")
        return await self._search(tag, args[1:], uid=True)

    async def _scan(self) -> list[tuple[int, str]]:
        return await asyncio.get_running_loop().run_in_executor(None, self.sandbox._sent)

    async def _exists(self, count: int | None = None) -> None:
        """Tell the client of messages that arrived since it last heard."""
        if count is None:
            count = len(await self._scan())
        if count != self.exists:
            self.exists = count
            await self.send(f"* {count} EXISTS")

    def _need_login(self) -> None:
        if not self.authenticated:
            raise _Bad("log in first")


def _split_tag(line: bytes) -> tuple[str, bytes]:
    """The tag of a command line, and the rest after its space."""
    line = line.rstrip(b"\r\n")
    match = _TAG.match(line)
    if not match:
        raise _Bad("a command starts with a tag")
    rest = line[match.end() :]
    if not rest.startswith(b" "):
        raise _Bad("a command follows its tag")
    return match.group().decode("ascii"), rest[1:]


def _parse_command(text: bytes) -> tuple[str, list[bytes]]:
    """`COMMAND arg...` with atoms and quoted strings; a _Bad for anything else."""
    words = _tokens(text)
    if not words:
        raise _Bad("no command")
    return words[0].decode("ascii", "replace").upper(), words[1:]


def _tokens(text: bytes) -> list[bytes]:
    """Atoms and quoted strings separated by single spaces."""
    words: list[bytes] = []
    at = 0
    while at < len(text):
        if text[at : at + 1] == b'"':
            value = bytearray()
            at += 1
            while True:
                if at >= len(text):
                    raise _Bad("unterminated quoted string")
                char = text[at : at + 1]
                if char == b"\\":
                    escaped = text[at + 1 : at + 2]
                    if escaped not in (b'"', b"\\"):
                        raise _Bad("bad escape in a quoted string")
                    value += escaped
                    at += 2
                    continue
                at += 1
                if char == b'"':
                    break
                value += char
            words.append(bytes(value))
        elif text[at : at + 1] == b"{":
            raise _Bad("literals are not supported here: send a quoted string")
        else:
            match = _ATOM.match(text, at)
            if not match:
                raise _Bad(f"unexpected {text[at : at + 1]!r}")
            words.append(match.group())
            at = match.end()
        if at < len(text):
            if text[at : at + 1] != b" ":
                raise _Bad("arguments are separated by one space")
            at += 1
            if at == len(text):
                raise _Bad("trailing space")
    return words


def _no_args(args: list[bytes]) -> None:
    if args:
        raise _Bad("this command takes no arguments")


def _arrival(key: str) -> tuple[int, int, str]:
    """A Maildir key's delivery time ("<seconds>.M<microseconds>P..."), for the folder order."""
    match = re.match(r"(\d+)\.M(\d+)", key)
    if match:
        return int(match.group(1)), int(match.group(2)), key
    return int(time.time()), 0, key


def _parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
