"""Docs cannot drift: every command and every setting is in the README and the example file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
from pydantic import BaseModel

from ifn_campaign.cli.app import app
from ifn_campaign.config import AccountSettings, Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE = (ROOT / "assets" / "ifn-campaign.example.toml").read_text(encoding="utf-8")


def _commands() -> list[str]:
    found: list[str] = []

    def walk(cmd: Any, path: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
        else:
            found.append(" ".join(path))

    walk(typer.main.get_command(app), [])
    return found


def _settings() -> list[tuple[str, str]]:
    keys = []
    for section, field in Settings.model_fields.items():
        if section == "accounts":  # channel -> name -> AccountSettings, documented per key below
            keys += [("accounts.<channel>.<name>", key) for key in AccountSettings.model_fields]
            continue
        model = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        assert isinstance(model, BaseModel)
        keys += [(section, key) for key in type(model).model_fields]
    return keys


@pytest.mark.parametrize("command", _commands())
def test_command_is_documented(command: str) -> None:
    assert f"`ifn-campaign {command}" in README


@pytest.mark.parametrize("section,key", _settings(), ids=lambda v: str(v))
def test_setting_is_documented(section: str, key: str) -> None:
    assert f"`{section}.{key}`" in README
    if section.startswith("accounts."):  # accounts live in the file; secrets only by name
        assert f"\n{key} =" in EXAMPLE or f"# {key} =" in EXAMPLE
        return
    assert f"IFN_{section.upper()}__{key.upper()}" in README
    if key != "token":  # a secret is never shown in the settings file
        assert f"\n{key} =" in EXAMPLE or f"# {key} =" in EXAMPLE


def _markdown_files() -> list[Path]:
    skip = {".venv", ".git", "node_modules", "var"}
    return sorted(p for p in ROOT.rglob("*.md") if not skip.intersection(p.relative_to(ROOT).parts))


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
    docs resolves to a file inside it, however the link is written."""
    text = doc.read_text(encoding="utf-8")
    for target in [t for pattern in _LINKS for t in pattern.findall(text)]:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # an address on the web or an anchor on the same page
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


def _text_files() -> list[Path]:
    skip = {".venv", ".git", "node_modules", "var", "output", ".hypothesis", "__pycache__"}
    kinds = {".py", ".md", ".toml", ".j2", ".txt", ".cfg", ".yaml", ".yml", ""}
    return sorted(
        p
        for p in ROOT.rglob("*")
        if p.is_file()
        and p.suffix in kinds
        and not skip.intersection(p.relative_to(ROOT).parts)
        and not any(part.endswith(".egg-info") for part in p.parts)
    )


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
                if not ((ROOT / named).exists() or (file.parent / named).exists()):
                    missing.append(f"{file.relative_to(ROOT)}: {named}")
            elif named not in names:
                missing.append(f"{file.relative_to(ROOT)}: {named}")
    assert not missing, "documents a user does not have:\n" + "\n".join(missing)


def test_the_readme_pictures_are_there_and_small() -> None:
    """The README shows cards and a Shorts strip (issue 15), small enough for a clone."""
    pictures = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", README.replace("\n", " "))
    assert len(pictures) >= 4
    sizes = [(ROOT / p).stat().st_size for p in pictures]
    assert sum(sizes) < 300_000, dict(zip(pictures, sizes, strict=True))
