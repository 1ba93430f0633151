"""Docs cannot drift: the site builds strictly, and every command, option, setting and table of the
code is in its generated reference; every link resolves, every path the docs name exists, and the
README stays a five-minute read.

The site is built once per module (a few seconds) with the repository's own mkdocs.yml, and the
checks read the rendered HTML, so a reference page that the build hook left incomplete fails here.
The commands, settings and tables are walked here independently of the hook (docs/hooks.py).
"""

from __future__ import annotations

import functools
import html
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import typer
from pydantic import BaseModel
from sqlmodel import SQLModel

import ifn_campaign.models  # noqa: F401  (registers every table on SQLModel.metadata)
from ifn_campaign.cli.app import app
from ifn_campaign.config import AccountSettings, Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE = (ROOT / "assets" / "ifn-campaign.example.toml").read_text(encoding="utf-8")
DOCS = ROOT / "docs"
SKIP_DIRS = {".venv", ".git", "node_modules", "var", "site", ".hypothesis", "__pycache__"}
SKIP_DIRS |= {".pytest_cache", ".ruff_cache"}  # tools' caches, not documents
# Product docs link outside the repository only to the platforms' public developer docs.
PUBLIC_DOC_HOSTS = {"developers.facebook.com", "developers.google.com"}


# -- the built site ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site as `make docs` builds it (strict: a broken link, anchor or page fails)."""
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=240,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr}{result.stdout}"
    return out


@functools.cache
def _page(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text(encoding="utf-8")


@functools.cache
def _text(fragment: str) -> str:
    """What a reader sees of some HTML: tags dropped, entities decoded, spaces collapsed."""
    inline = re.sub(r"</?(?:code|a|em|strong|span|bdi|kbd)\b[^>]*>", "", fragment)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inline)).split())


_HEADING = re.compile(r"<h([1-6])[^>]*>(.*?)</h\1>", re.DOTALL)


@functools.cache
def _sections(page: str) -> dict[str, str]:
    """Heading text -> the text under it, up to the next heading (the headerlink '¶' dropped)."""
    marks = list(_HEADING.finditer(page))
    found = {}
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(page)
        found[_text(mark.group(2)).rstrip("¶").strip()] = _text(page[mark.end() : end])
    return found


# -- commands ---------------------------------------------------------------------------------


def _commands() -> Iterator[tuple[str, Any, Any]]:
    """(path, command, context) for every command and command group of the CLI."""
    root = typer.main.get_command(app)

    def walk(cmd: Any, ctx: Any, path: list[str]) -> Iterator[tuple[str, Any, Any]]:
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            if sub.hidden:
                continue
            sub_ctx = typer.Context(sub, info_name=name, parent=ctx)
            yield " ".join([*path, name]), sub, sub_ctx
            yield from walk(sub, sub_ctx, [*path, name])

    yield from walk(root, typer.Context(root, info_name="ifn-campaign"), [])


COMMANDS = {path: (cmd, ctx) for path, cmd, ctx in _commands()}


def test_the_cli_has_commands_to_check() -> None:
    assert {"sync", "db upgrade", "ledger gap", "captions show", "demo"} <= set(COMMANDS)


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_is_in_the_reference(site: Path, command: str) -> None:
    """Every command and group has help, and its section in the command reference gives that help
    and every argument and option, as `--help` names them."""
    cmd, ctx = COMMANDS[command]
    assert cmd.help and cmd.help.strip(), f"`ifn-campaign {command}` has no help text"
    sections = _sections(_page(site, "reference/commands"))
    title = f"ifn-campaign {command}"
    assert title in sections, f"{title} is not in docs' command reference"
    section = sections[title]
    first_line = " ".join(cmd.help.strip().split("\n\n")[0].split()).replace("`", "")
    assert first_line in section
    for param in cmd.get_params(ctx):
        if param.name == "help":
            continue
        names = [*param.opts, *param.secondary_opts]
        if param.param_type_name == "argument":  # by its metavar, as --help shows it
            names = [param.get_help_record(ctx)[0]]
        for name in names:
            assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", section), (
                f"{title}: {name} is not in its reference section"
            )


def test_the_reference_follows_the_help_panels(site: Path) -> None:
    """Commands appear under their `--help` panel, panels in the order `--help` shows them."""
    from ifn_campaign.cli.base import ORDER

    page = _page(site, "reference/commands")
    headings = [_text(m.group(2)).rstrip("¶").strip() for m in _HEADING.finditer(page)]
    at = {heading: i for i, heading in enumerate(headings)}
    panels = [panel for panel in ORDER if panel in at]
    assert panels == list(ORDER), "a --help panel has no section"
    assert [at[p] for p in panels] == sorted(at[p] for p in panels)
    for i, panel in enumerate(panels):
        end = at[panels[i + 1]] if i + 1 < len(panels) else len(headings)
        for name in ORDER[panel]:
            if name in COMMANDS:
                assert at[panel] < at[f"ifn-campaign {name}"] < end, f"{name} not under {panel}"


# -- settings ---------------------------------------------------------------------------------


def _settings() -> list[tuple[str, str, Any]]:
    keys = []
    for section, field in Settings.model_fields.items():
        if section == "accounts":  # channel -> name -> AccountSettings, documented per key below
            keys += [
                ("accounts.<channel>.<name>", key, f)
                for key, f in AccountSettings.model_fields.items()
            ]
            continue
        model = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        if not isinstance(model, BaseModel):  # a top-level key (data_dir)
            keys.append(("", section, field))
            continue
        keys += [(section, key, f) for key, f in type(model).model_fields.items()]
    return keys


SETTINGS = _settings()


@pytest.mark.parametrize("section,key,field", SETTINGS, ids=lambda v: str(v)[:40])
def test_setting_is_in_the_reference(site: Path, section: str, key: str, field: Any) -> None:
    """Every setting has its key, description and `IFN_` variable in the settings reference, and a
    line (or a commented one) in the example settings file."""
    page = _text(_page(site, "reference/settings"))
    assert (f"{section}.{key}" if section else key) in page
    assert field.description, f"{section}.{key} has no description"
    assert " ".join(field.description.split()).replace("`", "") in page
    if section.startswith("accounts."):  # accounts live in the file; secrets only by name
        assert f"\n{key} =" in EXAMPLE or f"# {key} =" in EXAMPLE
        return
    assert (f"IFN_{section.upper()}__{key.upper()}" if section else f"IFN_{key.upper()}") in page
    if key != "token":  # a secret is never shown in the settings file
        assert f"\n{key} =" in EXAMPLE or f"# {key} =" in EXAMPLE


# -- data model -------------------------------------------------------------------------------


@pytest.mark.parametrize("table", sorted(SQLModel.metadata.tables))
def test_table_is_in_the_data_model(site: Path, table: str) -> None:
    """Every table has a section in the data-model reference listing each of its columns."""
    sections = _sections(_page(site, "reference/data-model"))
    assert table in sections, f"table {table} is not in the data model"
    for column in SQLModel.metadata.tables[table].columns:
        assert re.search(rf"(?<!\w){re.escape(column.name)}(?!\w)", sections[table]), (
            f"{table}.{column.name} is not in the data model"
        )


def test_the_error_tree_is_in_the_architecture_page(site: Path) -> None:
    """The architecture page shows the error tree as errors.py draws it: every error class."""
    from ifn_campaign import errors

    page = _text(_page(site, "explanation/architecture"))
    classes = [
        name
        for name, value in vars(errors).items()
        if isinstance(value, type)
        and issubclass(value, errors.IFNError)
        and value.__module__ == errors.__name__
    ]
    assert len(classes) > 20
    missing = [name for name in classes if not re.search(rf"\b{name}\b", page)]
    assert not missing, f"the architecture page's error tree lacks {missing}"


# -- links and paths --------------------------------------------------------------------------


def test_every_link_in_the_site_resolves(site: Path) -> None:
    """Every relative link of every page leads to a file of the site, and its anchor to an id on
    that page (mkdocs checks the markdown's links; this also covers generated and theme ones)."""
    ids: dict[Path, set[str]] = {}

    def anchors(page: Path) -> set[str]:
        if page not in ids:
            text = page.read_text(encoding="utf-8")
            ids[page] = set(re.findall(r'\bid="([^"]+)"', text))
        return ids[page]

    broken = []
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 20
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for href in re.findall(r'<a\b[^>]*?\bhref="([^"]*)"', text):
            href = html.unescape(href)
            parts = urlsplit(href)
            if parts.scheme or href.startswith("//"):
                continue
            if not parts.path:
                target = page
            elif parts.path.startswith("/"):  # the 404 page links from the site's root
                target = (site / unquote(parts.path).lstrip("/")).resolve()
            else:
                target = (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: {href}")
            elif (
                parts.fragment
                and target.suffix == ".html"
                and unquote(parts.fragment) not in anchors(target)
            ):
                broken.append(f"{page.relative_to(site)}: {href} (no such anchor)")
    assert not broken, "broken links in the site:\n" + "\n".join(broken)


def test_the_site_reaches_nothing_outside(site: Path) -> None:
    """The built pages load nothing from the web (no web fonts, no theme links) and link out only
    to the platforms' public developer docs."""
    outside = {
        f"{page.relative_to(site)}: {url}"
        for page in site.rglob("*.html")
        for url in re.findall(
            r"""\b(?:href|src)=["']((?:https?:)?//[^"']+)""", page.read_text(encoding="utf-8")
        )
        if urlsplit(url).hostname not in PUBLIC_DOC_HOSTS
    }
    assert not outside, "the site reaches outside:\n" + "\n".join(sorted(outside))


def _markdown_files() -> list[Path]:
    return sorted(
        p for p in ROOT.rglob("*.md") if not SKIP_DIRS.intersection(p.relative_to(ROOT).parts)
    )


# Where a document links to another: [text](target "title"), [text]: target (a reference), and
# <img src>, <a href> in markdown's HTML.
_LINKS = (
    re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(][^)]*)?\)"),
    re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?", re.MULTILINE),
    re.compile(r"<(?:img|a|source)\b[^>]*?\b(?:src|href)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE),
)


@pytest.mark.parametrize("doc", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_inside_the_repository(doc: Path) -> None:
    """A user has the repository, not our working notes: every relative link (and image) in the
    docs resolves to a file inside it, however the link is written; the only addresses on the web
    are the platforms' public developer docs."""
    text = doc.read_text(encoding="utf-8")
    for target in [t for pattern in _LINKS for t in pattern.findall(text)]:
        if target.startswith("#"):
            continue  # an anchor on the same page
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            host = urlsplit(target).hostname
            assert host in PUBLIC_DOC_HOSTS, f"{doc.name} links outside the repository: {target}"
            continue
        path = (doc.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT), f"{doc.name} links outside the repository: {target}"
        assert path.exists(), f"{doc.name} links to a missing file: {target}"
    assert "../shared" not in text


def test_the_link_patterns_find_every_form() -> None:
    """The link check above sees titled, reference and HTML links, not only [text](path)."""
    text = (
        '[a](../shared/DESIGN.md "the design") [b](<docs/x.png>)\n'
        "[c]: shared/PLATFORMS.md\n"
        '<img src="docs/gone.png" width="300"> <a href="../x.md">x</a>'
    )
    found = [t for pattern in _LINKS for t in pattern.findall(text)]
    assert sorted(found) == sorted(
        ["../shared/DESIGN.md", "docs/x.png", "shared/PLATFORMS.md", "docs/gone.png", "../x.md"]
    )


# A path of the repository written in the docs: `ifn_campaign/posts/lifecycle.py`, `templates/`.
_REPO_PATH = re.compile(
    r"`((?:ifn_campaign|sandbox|flows|templates|assets|tests|bench|docs|\.ci)/[^`\s]*)`"
)


@pytest.mark.parametrize(
    "doc",
    [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_path_the_docs_name_exists(doc: Path) -> None:
    """A file or folder the docs send a reader to is there: a module moved by a refactor fails
    here until its page follows. Patterns (`<campaign>`, `*`) are not paths."""
    missing = [
        named
        for named in _REPO_PATH.findall(doc.read_text(encoding="utf-8"))
        if not re.search(r"[<>*{}]|\.\.\.|…", named) and not (ROOT / named.rstrip("/")).exists()
    ]
    assert not missing, f"{doc.relative_to(ROOT)} names paths that do not exist: {missing}"


def test_the_layout_table_lists_every_package() -> None:
    """The package layout page has a line for every package and module of `ifn_campaign/`."""
    layout = (DOCS / "reference" / "layout.md").read_text(encoding="utf-8")
    parts = [
        p.name + ("/" if p.is_dir() else "")
        for p in (ROOT / "ifn_campaign").iterdir()
        if (p.is_dir() and (p / "__init__.py").exists())
        or (p.suffix == ".py" and p.name != "__init__.py")
    ]
    assert len(parts) >= 10
    missing = [part for part in parts if f"`ifn_campaign/{part}`" not in layout]
    assert not missing, f"docs/reference/layout.md has no line for {missing}"


def _text_files() -> list[Path]:
    skip = SKIP_DIRS | {"output"}
    kinds = {".py", ".md", ".toml", ".j2", ".txt", ".cfg", ".yaml", ".yml", ""}
    return sorted(
        p
        for p in ROOT.rglob("*")
        if p.is_file()
        and p.suffix in kinds
        and not skip.intersection(p.relative_to(ROOT).parts)
        and not any(part.endswith(".egg-info") for part in p.parts)
    )


@pytest.mark.slow
def test_every_document_named_is_in_the_repository() -> None:
    """Code and docs that send a reader to a document ("the contract in DESIGN.md") name one the
    user has: a path from the repository's root or the file's folder, or a file name found in it.
    Our working notes (DESIGN.md, shared/PLATFORMS.md) are not shipped."""
    names = {p.name for p in ROOT.rglob("*.md") if ".venv" not in p.parts}
    missing = []
    for file in _text_files():
        if file == Path(__file__).resolve():
            continue  # this file names the missing ones on purpose
        try:
            text = file.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for match in re.finditer(r"(?<![\w/.:-])((?:\.{1,2}/)*[\w.-]*(?:/[\w.-]+)*\w\.md)\b", text):
            named = match.group(1)
            if text[max(0, match.start() - 3) : match.start()].endswith("://"):
                continue
            if "/" in named:
                if file.name == "mkdocs.yml" and (DOCS / named).exists():
                    continue  # the site's navigation names pages inside docs/
                if not ((ROOT / named).exists() or (file.parent / named).exists()):
                    missing.append(f"{file.relative_to(ROOT)}: {named}")
            elif named not in names:
                missing.append(f"{file.relative_to(ROOT)}: {named}")
    assert not missing, "documents a user does not have:\n" + "\n".join(missing)


# -- the README -------------------------------------------------------------------------------


def test_the_readme_is_a_five_minute_read() -> None:
    """Under 8 KB: what it is, the two set-up commands, how to run the tests (CI runs `make
    test`, .ci/run) and where the docs are; the rest lives in the site."""
    assert len(README.encode("utf-8")) < 8 * 1024
    assert "make demo" in README and "make test" in README
    commands = re.findall(r"^make (\w+)\s", README, re.MULTILINE)
    assert commands[:2] == ["demo", "test"], "the set-up block gives the two commands first"
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "mkdocs serve" in README and "](docs/" in README
    assert "](docs/reference/layout.md)" in README


def test_the_readme_pictures_are_there_and_small() -> None:
    """The README shows cards and a Shorts strip (issue 15), small enough for a clone."""
    pictures = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", README.replace("\n", " "))
    assert len(pictures) >= 4
    sizes = [(ROOT / p).stat().st_size for p in pictures]
    assert sum(sizes) < 300_000, dict(zip(pictures, sizes, strict=True))


# -- facts written by hand ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "doc", [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))], ids=lambda p: str(p.relative_to(ROOT))
)
def test_the_migrations_the_docs_name_are_this_versions(doc: Path) -> None:
    """A migration the docs show (`doctor`'s `at migration 0008 (head)`) is one this version has,
    and the one shown as the head is the head: an example output does not fall behind the
    schema."""
    from ifn_campaign import store

    text = doc.read_text(encoding="utf-8")
    known = {p.name[:4] for p in (ROOT / "ifn_campaign" / "migrations" / "versions").glob("*.py")}
    named = re.findall(r"\bmigrations? (\d{4})\b", text)
    assert set(named) <= known, f"{doc.name} names migrations that do not exist: {named}"
    heads = re.findall(r"\bmigration (\d{4}) \(head\)", text)
    assert all(head == store.head_revision() for head in heads), (
        f"{doc.name} shows migration {heads} as the head; it is {store.head_revision()}"
    )


# Pages of the site written by hand, with the repository's markdown they take in whole
# (`--8<-- "templates/README.md"`).
_SNIPPETS = sorted(
    {
        ROOT / named
        for page in DOCS.rglob("*.md")
        for named in re.findall(r'^--8<-- "([^"]+\.md)"', page.read_text("utf-8"), re.MULTILINE)
    }
)
_HAND_WRITTEN = [ROOT / "README.md", *sorted(DOCS.rglob("*.md")), *_SNIPPETS]
# `section.key` in backticks where the section is one of the settings' but the words are not a
# setting: an OAuth scope, a module file and a template.
NOT_SETTINGS = {"youtube.upload", "youtube.py", "report.html.j2"}


def _setting_exists(section: str, key: str) -> bool:
    """`key` of `[section]` is a setting; `*` and `<...>` stand for any name (`registry.backoff_*`,
    `schedules.<flow>`, `accounts.*.app_id`)."""
    if section == "accounts":
        return key.rpartition(".")[2] in AccountSettings.model_fields
    pattern = re.sub(r"\\\*|<[^>]*>", ".+", re.escape(key).replace(r"\<", "<").replace(r"\>", ">"))
    return any(re.fullmatch(pattern, name) for s, name, _ in SETTINGS if s == section)


@pytest.mark.parametrize("doc", _HAND_WRITTEN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_setting_the_docs_name_exists(doc: Path) -> None:
    """A setting a page names (`publish.max_lateness`, `IFN_PUBLISH__MAX_LATENESS`) is one the
    settings model has: a renamed or removed key fails here until the page follows (the
    generated reference cannot tell a hand-written page is stale)."""
    text = doc.read_text(encoding="utf-8")
    sections = set(Settings.model_fields)
    wrong = [
        f"{section}.{key}"
        for section, key in re.findall(r"`([a-z_]+)\.([\w.*<>]+)`", text)
        if section in sections
        and f"{section}.{key}" not in NOT_SETTINGS
        and not _setting_exists(section, key)
    ]
    wrong += [
        f"IFN_{section}__{key}"
        for section, key in re.findall(r"\bIFN_([A-Z]+)__([A-Z_]+)\b", text)
        if not _setting_exists(section.lower(), key.lower())
    ]
    assert not wrong, f"{doc.relative_to(ROOT)} names settings that do not exist: {wrong}"


def _code(text: str) -> list[str]:
    """The code a page shows: fenced blocks, line by line, and inline `code`."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"^```.*?^```", "", text, flags=re.M | re.S))
    return [line for block in fenced for line in block.splitlines()] + inline


_ROOT_OPTIONS = {"--config", "-c", "--help"}


def _command_mistakes(code: str) -> list[str]:
    """What is wrong with each `ifn-campaign COMMAND [--option ...]` in a line of code: a
    command the CLI does not have, or an option that command does not take."""
    wrong = []
    for found in re.finditer(r"(?<![\w-])ifn-campaign((?: +[^\s#|;&]+)*)", code):
        words = found.group(1).split()
        while words and words[0] in _ROOT_OPTIONS | {"FILE"}:
            words = words[1:]
        if not words or not re.fullmatch(r"[a-z][a-z-]*", words[0]):
            continue  # `ifn-campaign`, `ifn-campaign --help`, `ifn-campaign COMMAND --help`
        path = []
        for word in words:
            if " ".join([*path, word]) not in COMMANDS:
                break
            path.append(word)
        if not path:
            wrong.append(f"no command {words[0]!r} in {found.group(0)!r}")
            continue
        cmd, ctx = COMMANDS[" ".join(path)]
        rest = words[len(path) :]
        takes_arguments = any(p.param_type_name == "argument" for p in cmd.get_params(ctx))
        group = getattr(cmd, "commands", None) and not takes_arguments
        if group and rest and not rest[0].startswith("-"):  # the next word is its command
            wrong.append(f"no command {' '.join([*path, rest[0]])!r} in {found.group(0)!r}")
            continue
        options = set(_ROOT_OPTIONS)
        for param in cmd.get_params(ctx):
            options |= {*param.opts, *param.secondary_opts}
        for word in rest:
            option = word.split("=")[0]
            if option.startswith("-") and option not in options:
                wrong.append(f"`ifn-campaign {' '.join(path)}` has no option {option}")
    return wrong


def test_the_command_check_finds_wrong_commands_and_options() -> None:
    assert _command_mistakes("ifn-campaign render --member ifn-0002 --all  # all") == []
    assert _command_mistakes("ifn-campaign --config x.toml db upgrade; ifn-campaign --help") == []
    assert _command_mistakes("ifn-campaign COMMAND --help") == []
    assert _command_mistakes(".venv/bin/ifn-campaign ledger by province") == []
    assert _command_mistakes("ifn-campaign render --colour red") == [
        "`ifn-campaign render` has no option --colour"
    ]
    assert _command_mistakes("ifn-campaign publsh --dry-run") == [
        "no command 'publsh' in 'ifn-campaign publsh --dry-run'"
    ]
    assert _command_mistakes("ifn-campaign takedowns done 123; ifn-campaign takedowns --all") == []
    assert _command_mistakes("ifn-campaign takedowns dun 123") == [
        "no command 'takedowns dun' in 'ifn-campaign takedowns dun 123'"
    ]


@pytest.mark.parametrize("doc", _HAND_WRITTEN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_command_the_docs_show_exists(doc: Path) -> None:
    """A command line a page shows (`ifn-campaign plan --dry-run`) names a command the CLI has,
    with options that command takes: a renamed command or option fails here."""
    wrong = [
        mistake
        for code in _code(doc.read_text(encoding="utf-8"))
        for mistake in _command_mistakes(code)
    ]
    assert not wrong, f"{doc.relative_to(ROOT)}: " + "; ".join(wrong)


def _toml_blocks(page: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(r"^```toml\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("page", ["how-to/add-account.md", "how-to/restyle-card.md"])
def test_the_settings_a_page_shows_load(page: str, tmp_path: Path) -> None:
    """A settings example (its tables are settings sections) is a file the settings accept."""
    from ifn_campaign.config import load_settings

    sections = set(Settings.model_fields)
    shown = [
        b
        for b in _toml_blocks(page)
        if re.match(r"\[(\w+)", b) and b[1:].split("]")[0].split(".")[0] in sections
    ]
    assert shown, f"{page} shows no settings"
    for block in shown:
        file = tmp_path / "ifn-campaign.toml"
        file.write_text(block, encoding="utf-8")
        load_settings(file)


def test_the_campaign_the_how_to_shows_loads(tmp_path: Path) -> None:
    """The short campaign of 'Add a campaign' is a campaign file the planner accepts."""
    from ifn_campaign.planner.campaign import load_campaign

    (block,) = _toml_blocks("how-to/add-campaign.md")
    name = re.search(r'^name = "([^"]+)"', block, re.MULTILINE)
    assert name is not None
    file = tmp_path / f"{name[1]}.toml"
    file.write_text(block, encoding="utf-8")
    assert load_campaign(file).name == name[1]


@pytest.mark.parametrize("doc", _HAND_WRITTEN, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_posts_a_withdrawal_cancels_are_the_codes(doc: Path) -> None:
    """Where a page lists the posts 'not yet out' that a withdrawal cancels, the list is the
    withdrawal's own (a state added there, such as missed, reaches every page)."""
    from ifn_campaign.posts.withdrawal import _QUEUED

    text = " ".join(doc.read_text(encoding="utf-8").split())
    for listed in re.findall(r"not yet out \(([a-z_, ]+)\)", text):
        assert {s.strip() for s in listed.split(",")} == {s.value for s in _QUEUED}, (
            f"{doc.relative_to(ROOT)} lists ({listed}) as not yet out"
        )


# -- on a phone -------------------------------------------------------------------------------

PHONE = 390
# The tallest a table row of the site may be on a phone: a reference row (a setting, a field, a
# flow) stays a glance, not a column a dozen characters wide running down the screen.
ROW_MAX_PX = 360


@pytest.mark.slow
def test_the_site_reads_on_a_phone(site: Path) -> None:
    """At 390 px no page scrolls sideways (a wide table scrolls inside itself) and no table row
    is taller than ROW_MAX_PX: the description column keeps room to be read
    (docs/stylesheets/extra.css). Debian's chromium, as the report's checks use."""
    from tests.support.browser import chromium

    sideways, tall = [], []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": PHONE, "height": 900})
        for file in sorted(site.rglob("index.html")):
            page.goto(file.as_uri())
            name = str(file.parent.relative_to(site)) or "home"
            if page.evaluate("document.documentElement.scrollWidth > innerWidth"):
                sideways.append(name)
            rows = page.evaluate(
                """() => [...document.querySelectorAll('.md-typeset table tr')].map(
                    tr => [tr.getBoundingClientRect().height, tr.cells[0].textContent])"""
            )
            tall += [f"{name}: {cell[:40]!r} {h:.0f} px" for h, cell in rows if h > ROW_MAX_PX]
    assert not sideways, f"pages scrolling sideways at {PHONE} px: {sideways}"
    assert not tall, f"table rows taller than {ROW_MAX_PX} px at {PHONE} px:\n" + "\n".join(tall)
