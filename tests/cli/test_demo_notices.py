"""The demo's member notices (issue 19), read from the session's demo run: what it says it sent
is in its Maildir and as .eml copies, each a whole e-mail (text and HTML, the member's page and
unsubscribe links), it prints one member page link, and that link opens in the console on the
demo's data. A second run sending nothing twice is tests/cli/test_cli.py's."""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ifn_campaign.config import load_settings
from ifn_campaign.console.app import create_app
from ifn_campaign.members.links import PAGE_PATH
from ifn_campaign.wiring import Resources
from tests.support.console_demo import copy_demo
from tests.support.demo import DemoRun

pytestmark = pytest.mark.slow

SENT = re.compile(r"member notices: (\d+) e-mails? to (\d+) members?")
LINK = re.compile(r"(http://\S+" + re.escape(PAGE_PATH) + r"/\S+)")


def _text(run: DemoRun) -> str:
    assert run.returncode == 0, run.stderr[-3000:]
    return " ".join(run.stdout.split())


def test_the_demo_sends_notices_and_says_where_to_read_them(demo_run: DemoRun) -> None:
    text = _text(demo_run)
    sent = SENT.search(text)
    assert sent is not None, text[-3000:]
    n, members = int(sent.group(1)), int(sent.group(2))
    assert n > 0 and 0 < members <= n
    maildir = demo_run.home / "var" / "demo" / "mail"
    box = mailbox.Maildir(maildir, create=False)
    stored = [
        email.message_from_bytes(box.get_bytes(k), policy=email.policy.default)
        for k in box.iterkeys()
    ]
    assert len(stored) == n  # one run: everything in the Maildir is what it says it sent
    ids = [m["Message-ID"] for m in stored]
    assert len(set(ids)) == n
    eml = maildir / "eml"
    assert f"open a .eml file in {eml.resolve()}" in text
    copies = sorted(eml.glob("*.eml"))
    assert len(copies) == n
    told = set()
    for copy in copies:
        message = email.message_from_bytes(copy.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage) and message["Message-ID"] in ids
        named = re.fullmatch(
            r"notice-\d{4}-(?:before|update|cancelled|after|receipt)-([\w-]+)\.eml", copy.name
        )
        assert named is not None, copy.name
        told.add(named.group(1))
        plain, html = message.get_body(("plain",)), message.get_body(("html",))
        assert plain is not None and html is not None
        assert PAGE_PATH + "/" in plain.get_content()
        assert message["List-Unsubscribe"].startswith("<http://127.0.0.1:")
    assert len(told) == members
    settings = load_settings(demo_run.home / "var" / "demo" / "ifn-campaign.toml")
    assert settings.notices.smtp_host == "127.0.0.1"
    assert settings.notices.smtp_security == "none"
    assert settings.member_page.base_url == "http://127.0.0.1:8080"


RECEIPTS = re.compile(r"(\d+) with the reach a week later")
REACHED = re.compile(r"^(?:Orang yang dijangkau: [\d.]+ orang|Ditonton: [\d.]+ kali)$", re.M)


def test_the_demo_sends_receipts_with_the_7_day_figures(demo_run: DemoRun) -> None:
    """The demo's clock goes on a week past the calendar reading figures: the members it told
    get their receipt, each with the reach read at the 7-day mark and the post's link."""
    text = _text(demo_run)
    said = RECEIPTS.search(text)
    assert said is not None, text[-3000:]
    eml = demo_run.home / "var" / "demo" / "mail" / "eml"
    receipts = sorted(eml.glob("notice-*-receipt-*.eml"))
    assert len(receipts) == int(said.group(1)) > 0
    for copy in receipts:
        message = email.message_from_bytes(copy.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        assert str(message["Subject"]).startswith("Hasil penampilan Anda di ")
        plain = message.get_body(("plain",))
        assert plain is not None
        body = plain.get_content().replace("\r\n", "\n")
        assert REACHED.search(body), body
        assert "Angka dibaca " in body and "sementara" not in body, body
        assert "https://" in body  # the post's link
        assert list(message.iter_attachments()) == []


def test_the_one_member_link_printed_opens_in_the_console(
    demo_run: DemoRun, tmp_path: Path
) -> None:
    text = _text(demo_run)
    links = LINK.findall(text)
    assert len(links) == 1, text[-3000:]
    (url,) = links
    maildir = demo_run.home / "var" / "demo" / "mail"
    bodies = [
        email.message_from_bytes(raw, policy=email.policy.default).get_body(("plain",))
        for raw in (path.read_bytes() for path in (maildir / "eml").glob("*.eml"))
    ]
    assert any(body is not None and url in body.get_content() for body in bodies)
    # on a copy: the page may count the visit, and the session's demo stays as it ran
    settings = copy_demo(demo_run.home / "var" / "demo", tmp_path / "demo")
    base = settings.member_page.base_url
    assert url.startswith(base + PAGE_PATH + "/")
    with Resources(settings) as resources:
        client = TestClient(create_app(resources), base_url=base)
        page = client.get(url.removeprefix(base))
        assert page.status_code == 200, page.text[:500]
        assert "Indonesia Footwear Network" in page.text
        token = url.rsplit("/", 1)[1]
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        assert client.get(f"{PAGE_PATH}/{forged}").status_code != 200
