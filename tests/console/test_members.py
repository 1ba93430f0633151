"""The Members pages: search and every filter, eligibility and its reasons (the planner's, in SQL
and in Python alike), a member's page with its history in every state, and the editor's pin,
unpin, exclude and include through the forms, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, select, update
from sqlalchemy.orm import Session

from ifn_campaign.models import Exclusion, Member, Pin, PostState, StaffUser
from ifn_campaign.planner.eligibility import REFUSALS, load_candidates, refusal_clause
from ifn_campaign.registry.media import store_path
from tests.support.console import ConsoleWorld, console_world, settings_for
from tests.support.console_hostile import MARK, check_page, store_hostile
from tests.support.console_members import NOW, SHA, store_members
from tests.support.ledger import add_member

ALL = ["ig-only", "later", "never-ok", "no-media", "none", "ok", "suspended", "withdrawn"]


@pytest.fixture
def world(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[ConsoleWorld]:
    """The console at NOW on the members of tests/support/console_members.py (and the shipped
    campaigns: sorotan-anggota posts on instagram/bpipi Tuesdays and Thursdays at 19:00)."""
    with console_world(settings_for(db_url, tmp_path), clock=lambda: NOW) as world:
        with world.session() as session:
            store_members(session)
            english(session)
        yield world


def english(session: Session) -> None:
    """Every test user reads English (the source text: what these tests look for)."""
    session.execute(update(StaffUser).values(language="en"))
    session.commit()


def listed(page: str) -> list[str]:
    """The member ids a list page shows, in order."""
    return [html.unescape(i) for i in re.findall(r'href="/members/([^"/]+)"', page)]


def ids(world: ConsoleWorld, query: str = "") -> list[str]:
    answer = world.client("viewer").get(f"/members{query}")
    assert answer.status_code == 200, answer.text
    return listed(answer.text)


def text(page: str) -> str:
    """What a reader sees of a page: its text without tags, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split()).replace(" :", ":")


def flash(world: ConsoleWorld, role: str, url: str) -> str:
    """What the page `url` says after an action, with the message it left."""
    page = world.client(role).get(url).text
    return page + "\n" + text(page)


def test_the_list_shows_every_member_with_counts(world: ConsoleWorld) -> None:
    answer = world.client("viewer").get("/members")
    assert answer.status_code == 200
    assert listed(answer.text) == ALL
    assert "8 members stored." in answer.text
    assert world.anonymous().get("/members").status_code == 303


def test_search_by_name_id_and_city(world: ConsoleWorld) -> None:
    assert ids(world, "?q=cibaduyut") == ["ok"]  # name, any case
    assert ids(world, "?q=IG-ON") == ["ig-only"]  # id
    assert ids(world, "?q=denpasar") == ["never-ok"]  # city
    assert ids(world, "?q=%25") == []  # a wildcard is a letter here
    assert "1 of 8 members match." in world.client("viewer").get("/members?q=bogor").text


def test_filters_by_province_category_and_actor_type(world: ConsoleWorld) -> None:
    assert ids(world, "?province=Bali") == ["never-ok"]
    assert ids(world, "?province=Jawa+Timur") == ["ig-only"]
    assert ids(world, "?category=sandals") == ["ig-only", "never-ok"]
    assert ids(world, "?actor_type=supplier") == ["no-media"]
    assert ids(world, "?category=sandals&province=Bali") == ["never-ok"]


def test_filters_by_consent(world: ConsoleWorld) -> None:
    everyone_consenting = ["ig-only", "never-ok", "no-media", "ok", "suspended"]
    assert ids(world, "?consent=instagram") == everyone_consenting
    assert ids(world, "?consent=facebook") == ["never-ok", "no-media", "ok", "suspended"]
    assert ids(world, "?consent=withdrawn") == ["withdrawn"]
    assert ids(world, "?consent=not_granted") == ["none"]
    assert ids(world, "?consent=not_yet") == ["later"]


def test_filters_by_eligibility_and_why(world: ConsoleWorld) -> None:
    assert ids(world, "?eligible=yes") == ["ig-only", "never-ok", "ok"]
    assert ids(world, "?eligible=yes&channel=facebook") == ["never-ok", "ok"]
    assert ids(world, "?eligible=no&channel=facebook") == [
        "ig-only",
        "later",
        "no-media",
        "none",
        "suspended",
        "withdrawn",
    ]
    assert ids(world, "?why=inactive") == ["suspended"]
    assert ids(world, "?why=consent_not_yet") == ["later"]
    assert ids(world, "?why=no_consent") == ["none", "withdrawn"]
    assert ids(world, "?why=no_consent&channel=youtube") == ["ig-only", "none", "withdrawn"]
    assert ids(world, "?why=no_media") == ["no-media"]


def test_filters_by_exclusion_and_never_featured(world: ConsoleWorld) -> None:
    assert ids(world, "?excluded=yes") == ["no-media"]
    assert "no-media" not in ids(world, "?excluded=no")
    assert ids(world, "?never=1&eligible=yes") == ["never-ok"]
    assert "ok" not in ids(world, "?never=1") and "ig-only" not in ids(world, "?never=1")


def test_a_value_no_form_offers_is_refused(world: ConsoleWorld) -> None:
    client = world.client("viewer")
    assert client.get("/members?consent=tiktok").status_code == 400
    assert client.get("/members?why=because").status_code == 400
    assert client.get("/members?page=0").status_code == 400
    assert client.get("/members?page=x").status_code == 400


def test_the_reasons_are_the_planners_words(world: ConsoleWorld) -> None:
    page = text(world.client("viewer").get("/members").text)
    assert "no consent for youtube" in page  # ig-only
    assert "no usable photo or logo" in page  # no-media
    assert "member not active (suspended)" in page
    assert "consent starts on 2026-12-31" in page  # later
    assert "excluded from every campaign: asked for a pause" in page
    world.post("viewer", "/me/language", {"language": "id"})
    page = text(world.client("viewer").get("/members").text)
    assert "tidak ada persetujuan untuk youtube" in page


def test_sql_and_python_eligibility_agree(world: ConsoleWorld) -> None:
    """`refusal_clause` is `Candidate.refusal` as SQL: for every member, channel and reason."""
    with world.session() as session:
        candidates = load_candidates(session, None, NOW)
        for channel in ("instagram", "facebook", "youtube", None):
            for reason in (None, *REFUSALS):
                found = set(
                    session.scalars(select(Member.id).where(refusal_clause(reason, channel, NOW)))
                )
                expected = set()
                for c in candidates:
                    channels = [channel] if channel else ["instagram", "facebook", "youtube"]
                    why = [c.refusal(ch) for ch in channels]
                    if reason is None and any(w is None for w in why):
                        expected.add(c.id)
                    elif reason is not None and all(w is not None for w in why):
                        first = why[0]  # every channel's first refusal but the consent one agrees
                        keys = {
                            "inactive": "member not active",
                            "consent_not_yet": "consent starts on",
                            "no_consent": "no consent for",
                            "no_media": "no usable photo",
                        }
                        assert first is not None
                        if first[1].startswith(keys[reason]):
                            expected.add(c.id)
                assert found == expected, (channel, reason)


def test_pages_of_fifty(engine: Engine, db_url: str, tmp_path: Path) -> None:
    with console_world(settings_for(db_url, tmp_path), clock=lambda: NOW) as world:
        with world.session() as session:
            for n in range(120):
                add_member(session, f"m-{n:03d}")
            session.commit()
        first = world.client("viewer").get("/members").text
        assert listed(first) == [f"m-{n:03d}" for n in range(50)]
        assert 'href="/members?page=2"' in first
        third = world.client("viewer").get("/members?page=3").text
        assert listed(third) == [f"m-{n:03d}" for n in range(100, 120)]
        filtered = world.client("viewer").get("/members?q=m-0&page=2").text
        assert listed(filtered) == [f"m-{n:03d}" for n in range(50, 100)]
        assert 'href="/members?q=m-0"' in filtered  # back to its first page, filter kept
        assert listed(world.client("viewer").get("/members?page=9").text)[-1] == "m-119"


def test_a_members_page_shows_profile_media_consent_and_history(world: ConsoleWorld) -> None:
    answer = world.client("viewer").get("/members/ok")
    assert answer.status_code == 200
    page = html.unescape(answer.text)
    assert "Sepatu Cibaduyut Jaya" in page
    # personal data: allowed owner name public, phone and e-mail left out
    assert re.search(r"Budi Santoso</bdi> <span class=\"public\">", page)
    assert re.search(r"0812 3456 7890</bdi> <span class=\"left-out\">", page)
    assert "instagram: yes" in page and "facebook: yes" in page
    assert "1200×900 px" in page
    for state in PostState:
        assert f'class="state state-{state}"' in page, state
    assert "cancelled: rejected by staff: blurry photo" in page.replace("</span> <bdi>", " ")
    assert "https://www.instagram.com/p/ok-1/" in page
    assert "takedown requested" in page and "taken down" in page
    assert "https://www.facebook.com/ok-2" in page
    refused = html.unescape(world.client("viewer").get("/members/no-media").text)
    assert "private_address" in refused and "169.254.169.254 is a link-local address" in refused
    assert "no usable photo or logo" in refused
    assert "excluded from every campaign" in refused
    assert world.client("viewer").get("/members/nobody").status_code == 404


def test_the_members_pages_never_read_every_features_reach(world: ConsoleWorld) -> None:
    """The planner's candidates carry their features' reach only for a campaign fair by reach
    (2 s for 20,000 features on SQLite): the members pages, which show no such reach, never
    ask for it (`figures.latest_reach_rows`, which `member_reach` joins)."""
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]).lower())

    viewer = world.client("viewer")
    viewer.get("/me")
    engine = world.resources.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for page in ("/members", "/members?eligible=yes", "/members/ok", "/members/no-media"):
            assert viewer.get(page).status_code == 200, page
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statements
    assert not [s for s in statements if "max(insight_reading.due_at)" in s]


def test_viewers_see_no_forms(world: ConsoleWorld) -> None:
    page = world.client("viewer").get("/members/ok").text
    assert "/members/ok/pin" not in page and "/members/ok/exclude" not in page
    assert 'action="/members/ok/pin"' in world.client("editor").get("/members/ok").text


def _pins(world: ConsoleWorld) -> list[Pin]:
    with world.session() as session:
        return list(session.scalars(select(Pin)))


def test_pin_and_unpin_through_the_forms(world: ConsoleWorld) -> None:
    form = {"campaign": "sorotan-anggota", "channel": "instagram", "account": "bpipi"}
    form |= {"at": "2026-12-08T19:00", "note": "launch week"}
    assert world.post("viewer", "/members/ok/pin", form).status_code == 403
    assert _pins(world) == []
    no_token = world.client("editor").post("/members/ok/pin", data=form)
    assert no_token.status_code == 403
    wrong = world.client("editor").post("/members/ok/pin", data={**form, "csrf": "x" * 40})
    assert wrong.status_code == 403
    answer = world.post("editor", "/members/ok/pin", form)
    assert answer.status_code == 303 and answer.headers["location"] == "/members/ok"
    (made,) = _pins(world)
    assert made.member_id == "ok" and made.slot_at == datetime(2026, 12, 8, 12, tzinfo=UTC)
    assert made.note == "launch week"
    page = flash(world, "editor", "/members/ok")
    assert 'class="ok"' in page and "sorotan-anggota instagram/bpipi" in page
    assert "launch week" in page
    # a time that is not a slot: the planner's refusal, said on the page; nothing stored
    world.post("editor", "/members/ok/pin", {**form, "at": "2026-12-08T18:00"})
    page = flash(world, "editor", "/members/ok")
    assert "has no instagram/bpipi slot at 2026-12-08 18:00" in page and "19:00" in page
    world.post("editor", "/members/ok/pin", {**form, "at": "tomorrow"})
    assert "write the slot as 'YYYY-MM-DD HH:MM'" in flash(world, "editor", "/members/ok")
    world.post("editor", "/members/ok/pin", {**form, "campaign": "nope"})
    assert "no campaign 'nope' on file" in flash(world, "editor", "/members/ok")
    assert len(_pins(world)) == 1
    # unpin
    assert world.post("viewer", "/members/ok/unpin", {"pin": made.id}).status_code == 403
    assert world.post("editor", "/members/ok/unpin", {"pin": made.id}).status_code == 303
    assert _pins(world) == []
    world.post("editor", "/members/ok/unpin", {"pin": made.id})
    assert "That pin is gone" in flash(world, "editor", "/members/ok")


def _exclusions(world: ConsoleWorld, member_id: str) -> list[Exclusion]:
    with world.session() as session:
        return list(
            session.scalars(
                select(Exclusion).where(Exclusion.member_id == member_id).order_by(Exclusion.id)
            )
        )


def test_exclude_and_include_through_the_forms(world: ConsoleWorld) -> None:
    form = {"reason": "rebranding", "campaign": "sorotan-anggota", "until": "2027-01-15"}
    assert world.post("viewer", "/members/ok/exclude", form).status_code == 403
    assert world.client("editor").post("/members/ok/exclude", data=form).status_code == 403
    assert world.post("editor", "/members/ok/exclude", form).status_code == 303
    (row,) = _exclusions(world, "ok")
    assert row.campaign == "sorotan-anggota" and row.reason == "rebranding"
    assert row.until == datetime(2027, 1, 14, 17, tzinfo=UTC)  # 2027-01-15 00:00 WIB
    assert ids(world, "?excluded=yes") == ["no-media", "ok"]
    # refusals: no reason, a bad date, an unknown campaign: said, nothing stored
    world.post("editor", "/members/ok/exclude", {**form, "reason": " "})
    assert 'class="error"' in flash(world, "editor", "/members/ok")
    world.post("editor", "/members/ok/exclude", {**form, "until": "15/01/2027"})
    assert "write a date as YYYY-MM-DD" in flash(world, "editor", "/members/ok")
    world.post("editor", "/members/ok/exclude", {**form, "campaign": "nope"})
    assert "no campaign 'nope' on file" in flash(world, "editor", "/members/ok")
    assert len(_exclusions(world, "ok")) == 1
    # every campaign, no end
    world.post("editor", "/members/ok/exclude", {"reason": "pause", "campaign": ""})
    assert [r.campaign for r in _exclusions(world, "ok")] == ["sorotan-anggota", None]
    # include: role, token, then one campaign's, then the rest; then nothing to lift
    assert world.post("viewer", "/members/ok/include", {}).status_code == 403
    assert world.client("editor").post("/members/ok/include", data={}).status_code == 403
    world.post("editor", "/members/ok/include", {"campaign": "sorotan-anggota"})
    lifted = [r.lifted_at is not None for r in _exclusions(world, "ok")]
    assert lifted == [True, False]
    world.post("editor", "/members/ok/include", {"campaign": ""})
    assert all(r.lifted_at == NOW for r in _exclusions(world, "ok"))
    world.post("editor", "/members/ok/include", {"campaign": ""})
    assert "member 'ok' has no exclusion to lift" in flash(world, "editor", "/members/ok")
    world.post("editor", "/members/nobody/exclude", {"reason": "x"})
    assert "no member 'nobody' stored" in flash(world, "editor", "/members")


def test_hostile_members_render_as_text(engine: Engine, db_url: str, tmp_path: Path) -> None:
    with console_world(settings_for(db_url, tmp_path), clock=lambda: NOW) as world:
        with world.session() as session:
            hostile = store_hostile(session)
            english(session)
        client = world.client("editor")
        pages = [client.get("/members"), client.get("/members?q=zqx")]
        pages += [client.get(f"/members/{m}") for m in hostile.member_ids]
        pages.append(client.get("/members/ifn-0034"))  # `Sepatu {{ config }} Jaya`
        for answer in pages:
            assert answer.status_code == 200, answer.text
            assert check_page(answer.text) == [], answer.url
            assert "<script>alert" not in answer.text
        assert MARK in pages[1].text and "Sepatu {{ config }} Jaya" in html.unescape(pages[-1].text)
        assert set(listed(pages[1].text)) == set(hostile.member_ids)


def test_a_stored_photo_is_served_by_its_hash_only(world: ConsoleWorld, tmp_path: Path) -> None:
    folder = world.settings.media.dir
    photo = store_path(folder, SHA, ".jpg")
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"\xff\xd8\xff jpeg bytes")
    page = world.client("viewer").get("/members/ok").text
    assert f'src="/member-media/{SHA}"' in page and 'alt="Sepatu kulit hitam"' in page
    answer = world.client("viewer").get(f"/member-media/{SHA}")
    assert answer.status_code == 200 and answer.content == b"\xff\xd8\xff jpeg bytes"
    assert answer.headers["content-type"] == "image/jpeg"
    assert world.anonymous().get(f"/member-media/{SHA}").status_code == 303
    for wrong in ("ab" * 31, SHA.upper(), "..%2F..%2Fifn.db", "cd" * 32):  # not a stored hash
        assert world.client("viewer").get(f"/member-media/{wrong}").status_code == 404, wrong
    # a file that leads out of the media folder is not served
    photo.unlink()
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(b"not for the console")
    photo.symlink_to(outside)
    assert world.client("viewer").get(f"/member-media/{SHA}").status_code == 404
