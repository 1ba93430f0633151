"""The data folder: every path setting absolute under one base fixed when settings are read, a
temporary working folder (a Prefect process worker's) refused as that base, stored paths kept
relative to it."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

import pytest

from ifn_campaign.config import Settings, load_settings, sqlite_url_under, temporary_folder
from ifn_campaign.errors import ConfigError

OPTIONAL = '[templates]\ndir = "my-templates"\n[planner]\ncampaigns_dir = "campaigns"\n'


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("IFN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def _paths(s: Settings) -> dict[str, Path]:
    """Every path setting, the database file included."""
    url = s.database.url
    assert url.startswith("sqlite:///")
    found = {
        "database.url": Path(url.removeprefix("sqlite:///")),
        "media.dir": s.media.dir,
        "log.file": s.log.file,
        "cards.cache_dir": s.cards.cache_dir,
        "cards.preview_dir": s.cards.preview_dir,
        "report.dir": s.report.dir,
    }
    if s.templates.dir is not None:
        found["templates.dir"] = s.templates.dir
    if s.planner.campaigns_dir is not None:
        found["planner.campaigns_dir"] = s.planner.campaigns_dir
    return found


def _all_under(s: Settings, base: Path, count: int = 6) -> None:
    """Every path setting is absolute under `base` (`count`: 8 with the two optional ones)."""
    assert s.data_dir == base
    paths = _paths(s)
    assert len(paths) == count
    for key, path in paths.items():
        assert path.is_absolute() and path.is_relative_to(base), (key, path)


def test_without_a_file_the_working_directory_is_the_base(tmp_path: Path) -> None:
    s = load_settings()
    _all_under(s, tmp_path)
    assert s.cards.cache_dir == tmp_path / "var" / "cards"
    assert s.database.url == f"sqlite:///{tmp_path}/var/ifn-campaign.db"


def test_the_settings_file_folder_is_the_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "ifn.toml").write_text(OPTIONAL)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("IFN_CONFIG", str(folder / "ifn.toml"))
    s = load_settings()
    _all_under(s, folder, 8)
    assert s.templates.dir == folder / "my-templates"
    assert s.planner.campaigns_dir == folder / "campaigns"
    monkeypatch.delenv("IFN_CONFIG")
    assert load_settings(Path("../etc/ifn.toml")).report.dir == folder / "var" / "report"


def test_data_dir_from_the_environment_or_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "srv" / "ifn"
    monkeypatch.setenv("IFN_DATA_DIR", str(data))
    _all_under(load_settings(), data)
    monkeypatch.delenv("IFN_DATA_DIR")
    (tmp_path / "ifn.toml").write_text(f'data_dir = "{data}"\n' + OPTIONAL)
    s = load_settings(tmp_path / "ifn.toml")
    _all_under(s, data, 8)
    assert s.planner.campaigns_dir == data / "campaigns"


def test_a_relative_data_dir_is_taken_under_the_file_folder_or_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "ifn.toml").write_text('data_dir = "../data"\n' + OPTIONAL)
    _all_under(load_settings(tmp_path / "conf" / "ifn.toml"), tmp_path / "data", 8)
    monkeypatch.setenv("IFN_DATA_DIR", "data2")
    _all_under(load_settings(), tmp_path / "data2")
    assert Settings(data_dir=Path("d3")).media.dir == tmp_path / "d3" / "var" / "media"


def test_absolute_path_settings_stay_as_given(tmp_path: Path) -> None:
    s = Settings(
        data_dir=tmp_path / "d",
        cards={"cache_dir": "/srv/cards"},
        database={"url": "sqlite:////srv/db/x.db?timeout=5"},
    )
    assert s.cards.cache_dir == Path("/srv/cards")
    assert s.database.url == "sqlite:////srv/db/x.db?timeout=5"
    assert s.media.dir == tmp_path / "d" / "var" / "media"


@pytest.mark.parametrize(
    "url,expected",
    [
        ("sqlite:///var/x.db", "sqlite:////data/var/x.db"),
        ("sqlite:///x.db?timeout=5", "sqlite:////data/x.db?timeout=5"),
        ("sqlite+pysqlite:///../x.db", "sqlite+pysqlite:////x.db"),
        ("sqlite:////abs/x.db", "sqlite:////abs/x.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("sqlite://", "sqlite://"),
        ("postgresql+psycopg://ifn@db/ifn", "postgresql+psycopg://ifn@db/ifn"),
    ],
)
def test_sqlite_url_file_part(url: str, expected: str) -> None:
    assert sqlite_url_under(url, Path("/data")) == expected


def test_a_working_directory_in_a_workers_temporary_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tempfile.TemporaryDirectory(suffix="prefect") as work:
        real = Path(os.path.realpath(work))
        assert temporary_folder(real / "var" / "cards") == real
        monkeypatch.chdir(work)
        for load in (load_settings, Settings):
            with pytest.raises(ConfigError, match="temporary folder the Prefect worker") as info:
                load()
            assert work.rsplit("/", 1)[1] in str(info.value) and "IFN_DATA_DIR" in str(info.value)
        monkeypatch.setenv("IFN_DATA_DIR", "data")  # relative: inside the folder all the same
        with pytest.raises(ConfigError, match="set data_dir"):
            load_settings()
        Path("ifn.toml").write_text("")  # found in the working directory: the same folder
        monkeypatch.delenv("IFN_DATA_DIR")
        with pytest.raises(ConfigError, match="set data_dir"):
            load_settings()
        # an absolute choice is the operator's and is taken: data_dir, or the file named so
        monkeypatch.setenv("IFN_DATA_DIR", str(tmp_path))
        assert load_settings().media.dir == tmp_path / "var" / "media"
        monkeypatch.delenv("IFN_DATA_DIR")
        assert load_settings(Path(work) / "ifn.toml").data_dir == Path(work)
        monkeypatch.chdir(tmp_path)


def test_only_tempfiles_own_folders_count_as_temporary(tmp_path: Path) -> None:
    temp = Path(os.path.realpath(tempfile.gettempdir()))
    assert temporary_folder(tmp_path) is None  # pytest's /tmp/pytest-of-<user>/...
    assert temporary_folder(temp) is None
    assert temporary_folder(temp / "ifn-data") is None
    assert temporary_folder(temp / "tmpshort") is None
    assert temporary_folder(Path("/srv/tmpab12cd34prefect")) is None  # not in the temp folder
    assert temporary_folder(temp / "tmpab12cd34" / "x") == temp / "tmpab12cd34"
    with tempfile.TemporaryDirectory() as plain:
        assert temporary_folder(Path(plain) / "a" / "b") == Path(os.path.realpath(plain))


def test_stored_paths_are_relative_to_the_data_folder_and_read_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    s = Settings(data_dir=data)
    card = s.cards.cache_dir / "ab" / "card.jpg"
    assert s.stored(card) == "var/cards/ab/card.jpg"
    assert s.stored("/srv/elsewhere/card.jpg") == "/srv/elsewhere/card.jpg"
    assert s.stored(str(data / "var" / ".." / "x.jpg")) == "x.jpg"
    card.parent.mkdir(parents=True)
    card.write_bytes(b"jpeg")
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.chdir(other)  # another working directory: a worker's
    again = load_settings(data_dir=data)
    assert again.path("var/cards/ab/card.jpg").read_bytes() == b"jpeg"
    assert again.path("/srv/elsewhere/card.jpg") == Path("/srv/elsewhere/card.jpg")


def test_rows_written_relative_to_the_old_working_directory_still_resolve(
    tmp_path: Path,
) -> None:
    """Before data_dir, a post stored `var/cards/...` relative to the working directory; with no
    settings file the data folder is that directory, so the same row finds its file."""
    (tmp_path / "var" / "cards").mkdir(parents=True)
    (tmp_path / "var" / "cards" / "old.jpg").write_bytes(b"old")
    assert load_settings().path("var/cards/old.jpg").read_bytes() == b"old"


def test_settings_survive_pickling_for_worker_processes(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "d")
    copy = pickle.loads(pickle.dumps(s))
    assert copy == s and copy.cards.cache_dir == tmp_path / "d" / "var" / "cards"


def test_a_sync_stores_fetched_media_relative_to_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New media rows (member logos and photos) are stored as cards are: relative to the data
    folder, so a worker started anywhere, or the data folder moved, still finds them."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from ifn_campaign import store
    from ifn_campaign.models import MediaAsset
    from ifn_campaign.orchestration.stages import sync_stage
    from ifn_campaign.wiring import Resources
    from ifn_sandbox.registry import RegistrySandbox

    data = tmp_path / "data"
    with RegistrySandbox() as sandbox:
        cfg = Settings(
            data_dir=data,
            registry={"base_url": sandbox.url},
            media={"allow_hosts": [sandbox.url.removeprefix("http://")]},
        )
        engine = store.make_engine(cfg.database.url)
        store.upgrade(engine)
        engine.dispose()
        with Resources(cfg) as res:
            result = sync_stage(res, full=True)
    assert result.run.media_fetched > 0
    moved = tmp_path / "moved"
    data.rename(moved)  # the whole data folder somewhere else, read from another folder
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path / "other")
    again = load_settings(data_dir=moved)
    engine = store.make_engine(again.database.url)
    with Session(engine) as session:
        paths = list(session.scalars(select(MediaAsset.path)))
    engine.dispose()
    assert len(paths) == result.run.media_fetched
    for path in paths:
        assert path.startswith("var/media/"), path
        assert again.path(path).is_file()


@pytest.mark.slow
def test_serve_logs_the_prefect_server_it_starts_under_the_data_folder(tmp_path: Path) -> None:
    """`serve` with no Prefect server to use starts one; its log goes under the data folder
    (var/prefect-server.log), not into whatever folder serve was started from."""
    import signal
    import socket
    import subprocess
    import sys
    import time

    data, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    elsewhere.mkdir()
    with socket.socket() as probe:  # a port with no server on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IFN_", "PREFECT_"))}
    env |= {
        "IFN_DATA_DIR": str(data),
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "COLUMNS": "1000",  # the line unwrapped
    }
    serve = subprocess.Popen(
        [sys.executable, "-m", "ifn_campaign.cli.app", "serve", "--port", str(port)],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    said: list[str] = []
    try:
        assert serve.stderr is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = serve.stderr.readline()
            if not line:
                break
            said.append(line)
            if "starting a Prefect server" in line:
                break
        log = data / "var" / "prefect-server.log"
        while time.monotonic() < deadline and not log.is_file():  # opened just after the line
            time.sleep(0.1)
    finally:
        serve.send_signal(signal.SIGINT)  # serve stops the server it started
        try:
            serve.wait(60)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()
    assert any(f"(log: {log})" in line for line in said), said
    assert log.is_file()
    assert not (elsewhere / "var").exists()


def test_a_settings_file_reached_through_a_link_names_one_data_folder_for_every_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flows' config_path parameter (deploy and serve) names the settings file as the
    operator did, link kept: a run reading the link's target would take the target's folder as
    its data folder (another database) when data_dir is unset."""
    from ifn_campaign.orchestration.deployments import file_parameters

    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "ifn.toml").write_text("")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "ifn.toml").symlink_to(tmp_path / "repo" / "ifn.toml")
    monkeypatch.chdir(tmp_path)
    here = load_settings(Path("etc/ifn.toml"))
    assert here.data_dir == tmp_path / "etc"
    given = file_parameters(Path("etc/ifn.toml"))["config_path"]
    (tmp_path / "worker").mkdir()
    monkeypatch.chdir(tmp_path / "worker")  # a run in a folder of its own
    run = load_settings(Path(given))
    assert run.data_dir == here.data_dir
    assert run.database.url == here.database.url


def test_a_home_folder_given_with_a_tilde_is_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--config=~/x`, `IFN_CONFIG=~/x` and `report --out=~/x` reach the program with the `~`
    (no shell expands it there): it means the home folder, as in every path setting, not a
    folder named `~` in the working directory."""
    from ifn_campaign import store
    from ifn_campaign.cli.app import main

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    (home / "ifn.toml").write_text('[report]\ndir = "pages"\n')
    assert load_settings(Path("~/ifn.toml")).data_dir == home
    monkeypatch.setenv("IFN_CONFIG", "~/ifn.toml")
    assert load_settings().report.dir == home / "pages"
    store.upgrade(store.make_engine(load_settings().database.url))
    capsys.readouterr()
    assert main(["--config=~/ifn.toml", "report", "--out=~/mine"]) == 0, capsys.readouterr()
    assert (home / "mine" / "index.html").is_file()
    assert not (tmp_path / "~").exists()
