"""No channel name is written as a string literal in the product code or the flows: code names a
channel through `Channel` (per-channel tables keyed by `Channel.INSTAGRAM` are fine), so a new
channel or a renamed one is found by the type, not by searching text. The sandboxes (sandbox/)
may keep their strings: they imitate the platforms, whose data names them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ifn_campaign.channels.channel import Channel

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("ifn_campaign", "flows")
NAMES = frozenset(member.value for member in Channel)

# where a name is data, not a comparison: each with why
ALLOWED = {
    "ifn_campaign/channels/channel.py": "the enum itself",
    "ifn_campaign/migrations/versions/0008_channel_checks.py": (
        "a migration keeps the names of its day; a later enum must not change it"
    ),
}


def channel_literals(source: str) -> list[int]:
    """The lines holding a string constant that is exactly a channel name (pieces of an
    f-string, e.g. f"{base}youtube.upload", are parts of other words and do not count)."""
    tree = ast.parse(source)
    inside_fstrings = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
    }
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in NAMES
        and id(node) not in inside_fstrings
    ]


def test_the_finder_finds_what_it_must_and_only_that() -> None:
    found = channel_literals(
        'if post.channel == "youtube":\n'
        "    x = {'facebook': 1}\n"
        'url = f"{base}youtube"\n'
        'ok = post.channel == Channel.YOUTUBE or name == "youtube.upload"\n'
    )
    assert found == [1, 2]


def test_no_channel_name_is_a_string_literal_outside_the_enum() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for folder in SCANNED
        for path in sorted((ROOT / folder).rglob("*.py"))
        if str(path.relative_to(ROOT)) not in ALLOWED
        for line in channel_literals(path.read_text(encoding="utf-8"))
    ]
    assert found == [], f"name the channel through Channel, not as text: {found}"


@pytest.mark.parametrize("allowed", sorted(ALLOWED))
def test_every_allowed_file_exists_and_still_needs_it(allowed: str) -> None:
    path = ROOT / allowed
    assert path.is_file(), f"{allowed} is gone: drop it from ALLOWED"
    assert channel_literals(path.read_text(encoding="utf-8")), f"{allowed} no longer needs it"
