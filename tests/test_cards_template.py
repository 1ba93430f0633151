"""Card templates are validated data: every mistake is reported with its file, layer and key."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ifn_campaign.cards.template import TEMPLATES_DIR, load_all, load_template, template_path
from ifn_campaign.errors import TemplateError

PALETTE = {"paper": "#FFFFFF", "ink": "#111111", "primary": "#123456", "scrim": "#000000"}

BASE = """
name = "t"
title = "Test"
formats = ["ig_square", "fb_feed"]

[[layers]]
name = "background"
type = "background"
fill = { color = "paper" }

[[layers]]
name = "title"
type = "text"
field = "business_name"
box = { x = 0.1, y = 0.1, w = 0.8, h = 0.2 }
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_templates_are_valid_for_every_format() -> None:
    templates = load_all(palette=None)
    assert {"sorotan", "sorotan-logo"} <= set(templates)
    assert templates["sorotan"].fallback == "sorotan-logo"
    for template in templates.values():
        for format_id in template.formats:
            names = [layer.name for layer in template.layers_for(format_id)]
            assert len(names) == len(set(names))


def test_overrides_apply_per_format(tmp_path: Path) -> None:
    text = BASE + "\n[overrides.fb_feed]\ntitle = { box = { x = 0.5, y = 0, w = 0.5, h = 1 } }\n"
    template = load_template(_write(tmp_path, text), PALETTE)
    square = {layer.name: layer for layer in template.layers_for("ig_square")}
    wide = {layer.name: layer for layer in template.layers_for("fb_feed")}
    assert square["title"].box.x == 0.1 and wide["title"].box.x == 0.5


def test_shared_overrides_by_format_name(tmp_path: Path) -> None:
    text = BASE.replace('"fb_feed"]', '"fb_feed", "story"]') + (
        '\n[overrides]\nfb_feed = "story"\n[overrides.story]\ntitle = { max_lines = 4 }\n'
    )
    template = load_template(_write(tmp_path, text), PALETTE)
    wide = {layer.name: layer for layer in template.layers_for("fb_feed")}
    assert wide["title"].max_lines == 4


@pytest.mark.parametrize(
    "change,layer,key,message",
    [
        (("max_lines", "max_lines = 0"), "title", "max_lines", "greater than or equal to 1"),
        (('field = "business_name"', 'field = "owner_phone"'), "title", "field", "Input should be"),
        (
            ('field = "business_name"', 'field = "business_name"\ntext = "x"'),
            "title",
            None,
            "exactly one",
        ),
        (('type = "text"', 'type = "video"'), "title", None, "unknown layer type"),
        (("box = { x = 0.1,", "box = { x = 9,"), "title", "box.x", "less than or equal to 2"),
        (
            ('field = "business_name"', 'field = "business_name"\nfont_size = 3'),
            "title",
            "font_size",
            "unknown key",
        ),
        (
            ('fill = { color = "paper" }', 'fill = { color = "paper", gradient = "hero" }'),
            "background",
            "fill",
            "exactly one",
        ),
        (
            ('fill = { color = "paper" }', 'fill = { color = "pink" }'),
            "background",
            "fill.color",
            "palette",
        ),
        (
            ('field = "business_name"', 'field = "business_name"\nmin_size = 0.2\nmax_size = 0.1'),
            "title",
            None,
            "min_size is larger",
        ),
    ],
)
def test_invalid_templates_name_file_layer_and_key(
    tmp_path: Path, change: tuple[str, str], layer: str, key: str | None, message: str
) -> None:
    old, new = change
    text = BASE.replace(old, new, 1) if old in BASE else BASE + f"\n{new}\n"
    if old == "max_lines":
        text = BASE.replace('field = "business_name"', 'field = "business_name"\nmax_lines = 0')
    path = _write(tmp_path, text)
    with pytest.raises(TemplateError) as info:
        load_template(path, PALETTE)
    error = info.value
    assert error.file == str(path)
    assert error.layer == layer
    if key is not None:
        assert error.key == key
    assert message in str(error)
    assert str(path) in str(error) and f"layer {layer!r}" in str(error)


@pytest.mark.parametrize(
    "text,key,message",
    [
        ("name = 't'\n", "title", "required"),
        (BASE.replace('"ig_square"', '"ig_story_xl"'), "formats", "unknown format"),
        (BASE + "\n[overrides.ig_square]\nmissing = { max_lines = 2 }\n", None, "does not exist"),
        (
            BASE + "\n[overrides.story]\ntitle = { max_lines = 2 }\n",
            "overrides.story",
            "does not list",
        ),
        (BASE + '\n[overrides]\nfb_feed = "story"\n', "overrides.fb_feed", "no overrides"),
        (BASE.replace('name = "t"', 'name = "../evil"'), "name", "should match"),
        ("[[layers\n", None, "not valid TOML"),
    ],
)
def test_invalid_template_heads(tmp_path: Path, text: str, key: str | None, message: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)) as info:
        load_template(_write(tmp_path, text), PALETTE)
    if key is not None:
        assert info.value.key == key


def test_duplicate_layer_names(tmp_path: Path) -> None:
    shape = 'type = "shape"\ncolor = "ink"\nbox = { x = 0, y = 0, w = 1, h = 1 }\n'
    text = BASE + '\n[[layers]]\nname = "title"\n' + shape
    with pytest.raises(TemplateError, match="used twice") as info:
        load_template(_write(tmp_path, text), PALETTE)
    assert info.value.layer == "title"


def test_missing_fallback_is_reported(tmp_path: Path) -> None:
    shutil.copy(TEMPLATES_DIR / "sorotan.toml", tmp_path / "sorotan.toml")
    shutil.copy(TEMPLATES_DIR / "formats.toml", tmp_path / "formats.toml")
    with pytest.raises(TemplateError, match="fallback template 'sorotan-logo' does not exist"):
        load_all(tmp_path)


@pytest.mark.parametrize("name", ["../etc/passwd", "Sorotan", "a/b", ""])
def test_template_names_are_never_paths(name: str) -> None:
    with pytest.raises(TemplateError):
        template_path(name)
