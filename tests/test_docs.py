"""Docs cannot drift: every command and every setting is in the README and the example file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
from pydantic import BaseModel

from ifn_campaign.cli import app
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


@pytest.mark.parametrize("doc", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_inside_the_repository(doc: Path) -> None:
    """A user has the repository, not our working notes: every relative link (and image) in the
    docs resolves to a file inside it."""
    text = doc.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # an address on the web or an anchor on the same page
        path = (doc.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT), f"{doc.name} links outside the repository: {target}"
        assert path.exists(), f"{doc.name} links to a missing file: {target}"
    assert "../shared" not in text


def test_the_readme_pictures_are_there_and_small() -> None:
    """The README shows cards and a Shorts strip (issue 15), small enough for a clone."""
    pictures = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", README.replace("\n", " "))
    assert len(pictures) >= 4
    sizes = [(ROOT / p).stat().st_size for p in pictures]
    assert sum(sizes) < 300_000, dict(zip(pictures, sizes, strict=True))
