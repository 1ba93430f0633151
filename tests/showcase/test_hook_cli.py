"""The showcase rebuilt after a publish run (`showcase.dir`), a failure only logged; and the
`ifn-campaign showcase` command."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.cli.app import main
from ifn_campaign.config import Settings, TemplatesSettings
from ifn_campaign.models import Member
from ifn_campaign.showcase import rebuild_after_publish, slug
from ifn_campaign.wiring import Resources
from tests.support.showcase import NOW, Featured, featured_members


def _settings(db_url: str, tmp_path: Path, site: Path | None) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database={"url": db_url},
        showcase={"dir": str(site) if site else None},
    )


def test_the_publish_hook_rebuilds_the_site_in_showcase_dir(
    featured: tuple[Session, Featured], db_url: str, tmp_path: Path
) -> None:
    site = tmp_path / "public" / "etalase"
    with Resources(_settings(db_url, tmp_path, site)) as res:
        run = rebuild_after_publish(res, now=NOW)
    assert run is not None and run.built
    assert run.line.startswith("showcase: 2 member(s), 3 feature(s)") and str(site) in run.line
    assert (site / "anggota" / f"{slug('ifn-a')}.html").is_file()
    # without a folder set there is nothing to do
    with Resources(_settings(db_url, tmp_path, None)) as res:
        assert rebuild_after_publish(res, now=NOW) is None


def test_a_showcase_that_cannot_be_built_is_logged_not_raised(
    featured: tuple[Session, Featured],
    db_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "other.txt").write_text("someone else's", encoding="utf-8")
    with (
        Resources(_settings(db_url, tmp_path, taken)) as res,
        caplog.at_level(logging.ERROR, logger="ifn_campaign.showcase"),
    ):
        run = rebuild_after_publish(res, now=NOW)
    assert run is not None and not run.built
    assert run.line.startswith(f"showcase: not rebuilt in {taken}: ")
    assert "not a showcase folder" in run.line
    assert any("was not rebuilt" in r.getMessage() and r.exc_info for r in caplog.records)
    assert [p.name for p in taken.iterdir()] == ["other.txt"]


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_engine: Engine) -> Path:
    """The CLI on a SQLite database of featured members; the data folder is tmp_path."""
    for key in [k for k in os.environ if k.startswith("IFN_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IFN_DATA_DIR", str(tmp_path / "data"))
    url = str(sqlite_engine.url)
    monkeypatch.setenv("IFN_DATABASE__URL", url)
    with Session(store.open_store(url)) as session:
        featured_members(session, Settings(data_dir=tmp_path / "data"))
        session.commit()
    return tmp_path


def test_the_command_writes_the_site(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["showcase", "--out", "situs"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "showcase: 2 member(s), 3 feature(s)" in shown
    assert str(cli_env / "situs" / "index.html") in shown
    assert (cli_env / "situs" / "keadilan.html").is_file()


def test_the_command_without_a_folder_says_how_to_give_one(
    cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["showcase"]) == 1
    err = capsys.readouterr().err
    assert "error:" in err and "--out DIR" in err and "showcase.dir" in err
    assert "Traceback" not in err
    # with showcase.dir set, that folder
    monkeypatch.setenv("IFN_SHOWCASE__DIR", "etalase")
    assert main(["showcase"]) == 0
    assert (cli_env / "data" / "etalase" / "index.html").is_file()


def test_the_publish_hook_rebuilds_only_when_something_shown_changed(
    featured: tuple[Session, Featured], db_url: str, tmp_path: Path
) -> None:
    """Every few minutes a publish run asks: a site made of the same rows, numbers and
    templates is left as it is; a withdrawal, a new feature or a restyle rebuilds it."""
    session, _ = featured
    site = tmp_path / "etalase"
    settings = _settings(db_url, tmp_path, site)
    with Resources(settings) as res:
        assert (first := rebuild_after_publish(res, now=NOW)) is not None and first.built
        index = (site / "index.html").stat()
        again = rebuild_after_publish(res, now=NOW + timedelta(minutes=5))
        assert again is not None and again.built
        assert again.line == f"showcase: unchanged since its last build in {site}"
        assert (site / "index.html").stat().st_ino == index.st_ino  # the same files

        member = session.get(Member, "ifn-a")
        assert member is not None
        member.consent_withdrawn_at = NOW + timedelta(minutes=6)
        session.commit()
        after = rebuild_after_publish(res, now=NOW + timedelta(minutes=10))
        assert after is not None and after.line.startswith("showcase: 1 member(s)")
        assert not (site / "anggota" / f"{slug('ifn-a')}.html").exists()

    mine = tmp_path / "mine" / "showcase"
    mine.mkdir(parents=True)
    (mine / "fairness.html.j2").write_text("<p>{{ t.fairness_heading }}</p>", encoding="utf-8")
    restyled = settings.model_copy(update={"templates": TemplatesSettings(dir=mine.parent)})
    with Resources(restyled) as res:
        run = rebuild_after_publish(res, now=NOW + timedelta(minutes=15))
    assert run is not None and run.line.startswith("showcase: 1 member(s)")
    assert (site / "keadilan.html").read_text(encoding="utf-8") == (
        "<p>Seberapa merata anggota ditampilkan</p>"
    )
