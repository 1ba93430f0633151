"""The notice delivery tests' world: a migrated database with generated members, outbox rows
written as the outbox queues them (rendered, pending), a card file, the mail sandbox (real SMTP
and IMAP on loopback) and the settings and secrets pointing at it."""

from __future__ import annotations

import base64
import itertools
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import Settings
from ifn_campaign.models import Member, Notice, NoticeState
from ifn_campaign.secrets import Secrets
from ifn_sandbox.mail import MailSandbox
from ifn_sandbox.sample import store_generated_members

USER = "ifn-sender"
PASSWORD = "s3cret-Sandbox-Pa55word"  # the sandbox's password: must never show anywhere
SECRET_NAME = "smtp-password"
APPRISE_SECRET = "apprise-url"
MEMBER_PAGE_SECRET = "k" * 40
NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
CID = "card-1@ifn.bpipi.id"
_serial = itertools.count(1)


@dataclass
class Outbox:
    """Database, settings, secrets and mail server of one test."""

    engine: Engine
    settings: Settings
    secrets: Secrets
    mail: MailSandbox
    members: list[str]
    folder: Path
    card: Path

    def session(self) -> Session:
        return Session(self.engine)

    def add(self, member: str | None = None, **values: Any) -> int:
        """One pending notice (as the outbox queues it); returns its id."""
        with self.session() as session:
            notice = make_notice(member or self.members[0], self.card, **values)
            session.add(notice)
            session.commit()
            assert notice.id is not None
            return notice.id

    def get(self, notice_id: int) -> Notice:
        with self.session() as session:
            notice = session.get(Notice, notice_id)
            assert notice is not None
            session.expunge(notice)
            return notice


def card_png(folder: Path) -> Path:
    """A small card image, as the cards folder holds them."""
    path = folder / "card.png"
    Image.new("RGB", (32, 32), (200, 30, 40)).save(path)
    return path


def make_notice(member: str, card: Path, **values: Any) -> Notice:
    n = next(_serial)
    fields: dict[str, Any] = {
        "member_id": member,
        "kind": "before",
        "medium": "email",
        "to_address": "pemilik@sepatu-contoh.id",
        "language": "id",
        "dedupe_key": f"before:test:{n}:email",
        "message_id": f"<notice-{n}.test@ifn.bpipi.id>",
        "subject": "Profil Anda akan ditampilkan di Instagram BPIPI — Selasa, 8 Desember 2026",
        "text_body": "Profil Anda akan ditampilkan pada Selasa, 8 Desember 2026 pukul 19.00 WIB.\n"
        "Lihat halaman Anda: https://ifn.example/anggota/1.abc\n"
        ".a line starting with a dot\n",
        "html_body": '<p>Profil Anda akan ditampilkan.</p><img src="cid:'
        + CID
        + '" alt="kartu"><p><a href="https://ifn.example/anggota/1.abc">Halaman Anda</a></p>',
        "attachments": [{"path": str(card), "mime": "image/png", "cid": CID}],
        "state": NoticeState.PENDING,
        "next_attempt_at": NOW - timedelta(minutes=1),
        "created_at": NOW - timedelta(hours=1),
        "state_changed_at": NOW - timedelta(hours=1),
    }
    fields.update(values)
    return Notice(**fields)


def notice_settings(db_url: str, folder: Path, mail: MailSandbox, **notices: Any) -> Settings:
    """Settings sending to the sandbox (plain SMTP with login, its IMAP for the Sent folder)."""
    cfg: dict[str, Any] = {
        "smtp_host": mail.host,
        "smtp_port": mail.smtp_port,
        "smtp_security": "none",
        "smtp_user": USER,
        "smtp_password_secret": SECRET_NAME,
        "smtp_timeout": 10.0,
        "reply_to": "sorotan@bpipi.id",
        "retry_base_seconds": 60.0,
        "retry_max_seconds": 3600.0,
    }
    cfg.update(notices)
    return Settings(
        database={"url": db_url},
        data_dir=folder,
        notices=cfg,
        member_page={"secret": MEMBER_PAGE_SECRET, "base_url": "https://ifn.example"},
    )


def with_imap(settings: Settings, mail: MailSandbox) -> Settings:
    notices = settings.notices.model_copy(
        update={"imap_host": mail.host, "imap_port": mail.imap_port, "imap_security": "none"}
    )
    return settings.model_copy(update={"notices": notices})


def secrets(**extra: str) -> Secrets:
    env = {"IFN_SECRET_SMTP_PASSWORD": PASSWORD}
    env.update(extra)
    return Secrets(env)


def store_members(engine: Engine, n: int = 4) -> list[str]:
    """Generated members who allowed being told by e-mail and WhatsApp (the sender checks it
    again before each send, as the outbox did when queuing)."""
    with Session(engine) as session:
        ids = store_generated_members(session, n, now=NOW - timedelta(days=60))
        for member in session.scalars(select(Member).where(Member.id.in_(ids))):
            member.consent_fields_allowed = [*member.consent_fields_allowed, "email", "whatsapp"]
            member.contact = {**(member.contact or {}), "whatsapp": "0812-3456-7890"}
        session.commit()
    return ids


@contextmanager
def open_outbox(
    db_url: str,
    folder: Path,
    *,
    members: int = 4,
    settings: Callable[[Settings, MailSandbox], Settings] = lambda s, _mail: s,
    **notices: Any,
) -> Iterator[Outbox]:
    """A migrated database with `members` members, a MailSandbox (with a login) and the notices
    settings pointing at it (`notices` overrides; `settings` adjusts the result, e.g. IMAP)."""
    engine = store.make_engine(db_url)
    store.upgrade(engine)
    try:
        with MailSandbox(folder / "maildir", user=USER, password=PASSWORD) as mail:
            yield Outbox(
                engine,
                settings(notice_settings(db_url, folder, mail, **notices), mail),
                secrets(),
                mail,
                store_members(engine, members),
                folder,
                card_png(folder),
            )
    finally:
        engine.dispose()


class SilentSmtp:
    """A raw SMTP server on loopback that greets, answers EHLO, then never answers again (or,
    with `at_banner`, accepts and says nothing at all): the sandbox cannot hang."""

    def __init__(self, *, at_banner: bool = False) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.at_banner = at_banner
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        held = []
        self.listener.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            held.append(conn)
            if not self.at_banner:
                conn.sendall(b"220 mail.test ESMTP\r\n")
                conn.makefile("rb").readline()  # EHLO
                conn.sendall(b"250-mail.test\r\n250 8BITMIME\r\n")
        for conn in held:
            conn.close()
        self.listener.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


class EchoingSmtp:
    """A raw SMTP server on loopback that offers AUTH PLAIN and LOGIN and refuses every login
    with a reply quoting what it was sent, encoded and decoded: the hostile or careless server
    whose refusal text must not carry our password into a stored reason."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @staticmethod
    def _decoded(word: str) -> str:
        try:
            return base64.b64decode(word).decode("utf-8", "replace").replace("\0", " ")
        except ValueError:
            return word

    def _session(self, conn: socket.socket) -> None:
        lines = conn.makefile("rb")
        conn.sendall(b"220 mail.test ESMTP\r\n")
        login = False
        for raw in lines:
            line = raw.decode("ascii", "replace").strip()
            verb, _, rest = line.partition(" ")
            if login:  # the password of AUTH LOGIN
                login = False
                reply = f"535 5.7.8 {line} ({self._decoded(line)}) rejected"
            elif verb.upper() == "EHLO":
                reply = "250-mail.test\r\n250 AUTH PLAIN LOGIN"
            elif verb.upper() == "AUTH" and rest.upper().startswith("LOGIN"):
                login = True
                reply = "334 UGFzc3dvcmQ6"
            elif verb.upper() == "AUTH":
                word = rest.partition(" ")[2]
                reply = f"535 5.7.8 {word} ({self._decoded(word)}) rejected"
            elif verb.upper() == "QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                reply = "250 ok"
            conn.sendall(reply.encode() + b"\r\n")

    def _serve(self) -> None:
        self.listener.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                with suppress(OSError):  # the client hung up: the next one may come
                    self._session(conn)
        self.listener.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
