"""Card templates are validated data: every mistake is reported with its file, layer and key."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from ifn_campaign.cards.template import (
    TEMPLATES_DIR,
    CardFormat,
    SafeZone,
    formats,
    kept_clear,
    load_all,
    load_template,
    network_logo_height,
    network_logo_mark_size,
    template_path,
)
from ifn_campaign.errors import TemplateError

PALETTE = {
    "paper": "#FFFFFF",
    "ink": "#111111",
    "primary": "#123456",
    "scrim": "#000000",
    "on_primary": "#FFFFFF",
    "accent_light": "#F3CBA6",
}

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
        '\n[overrides]\nfb_feed = "story"\n[overrides.story]\n'
        "title = { max_lines = 4, box = { x = 0.1, y = 0.2, w = 0.8, h = 0.2 } }\n"
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


# --- safe zones and the network logo's least size -------------------------------------------

STORY = """
name = "t"
title = "Test"
formats = ["story", "shorts_frame"]

[[layers]]
name = "background"
type = "background"
fill = { color = "paper" }
"""

# a layer of each kind that must be seen, as [[layers]] TOML with its box left for the test
KEPT_CLEAR = {
    "text": 'type = "text"\nfield = "business_name"\n',
    "badge": 'type = "badge"\n',
    "chips": 'type = "chips"\n',
    "member logo": 'type = "image"\nsource = "logo"\nfit = "contain"\n',
    "network logo": 'type = "image"\nsource = "network_logo"\nfit = "contain"\n',
    "plated text": 'type = "text"\ntext = "Sorotan"\nplate = { color = "primary" }\n',
}
# one box that is inside both formats' safe zones, large enough for the network logo
INSIDE = "{ x = 0.1, y = 0.2, w = 0.5, h = 0.1 }"


def _story(kind: str, box: str, extra: str = "") -> str:
    return STORY + f'\n[[layers]]\nname = "thing"\n{KEPT_CLEAR[kind]}box = {box}\n' + extra


@pytest.mark.parametrize("kind", list(KEPT_CLEAR))
@pytest.mark.parametrize(
    "box,format_id,message",
    [
        # under Instagram's and Facebook's top bar (250 px of 1920)
        ("{ x = 0.1, y = 0.06, w = 0.5, h = 0.1 }", "story", "starts at y=115 px"),
        # under the reply bar: the story's layout reaches 1880 px
        ("{ x = 0.1, y = 0.87, w = 0.5, h = 0.1095 }", "story", "reaches y=1880 px"),
        # off the card at the left, where no platform draws anything
        ("{ x = -0.02, y = 0.3, w = 0.5, h = 0.1 }", "story", "starts at x=-22 px"),
    ],
)
def test_a_layer_that_must_be_seen_cannot_reach_outside_the_safe_zone(
    tmp_path: Path, kind: str, box: str, format_id: str, message: str
) -> None:
    path = _write(tmp_path, _story(kind, box))
    with pytest.raises(TemplateError) as info:
        load_template(path, PALETTE)
    error = info.value
    assert (error.file, error.layer, error.key) == (str(path), "thing", "box")
    assert f"in format {format_id}: {message}" in str(error)
    zone = "0..1080 px" if "x=" in message else "250..1670 px"
    assert f"outside the safe zone {zone}" in str(error) or f"outside the card {zone}" in str(error)
    assert str(path) in str(error) and "layer 'thing'" in str(error) and "key 'box'" in str(error)


@pytest.mark.parametrize("kind", list(KEPT_CLEAR))
def test_the_shorts_frame_keeps_clear_of_its_own_bands(tmp_path: Path, kind: str) -> None:
    """The story's layout shared by the Shorts frame (`shorts_frame = "story"`) is checked
    against the Shorts frame's zones: YouTube's bottom 480 px and right 190 px."""
    lower = "{ x = 0.1, y = 0.7, w = 0.5, h = 0.1 }"  # 1344..1536: fine in a story only
    text = _story(kind, INSIDE) + (
        f'\n[overrides]\nshorts_frame = "story"\n[overrides.story]\nthing = {{ box = {lower} }}\n'
    )
    path = _write(tmp_path, text)
    with pytest.raises(TemplateError) as info:
        load_template(path, PALETTE)
    assert info.value.layer == "thing" and info.value.key == "box"
    assert (
        "in format shorts_frame (laid out by the overrides of story): reaches y=1536 px, "
        "outside the safe zone 200..1440 px" in str(info.value)
    )
    right = "{ x = 0.5, y = 0.3, w = 0.4, h = 0.1 }"  # reaches x=972, the button column
    text = _story(kind, INSIDE) + f"\n[overrides.shorts_frame]\nthing = {{ box = {right} }}\n"
    with pytest.raises(TemplateError, match=r"reaches x=972 px, outside the safe zone 0\.\.890"):
        load_template(_write(tmp_path, text), PALETTE)
    # its own overrides put it back inside: the template loads
    text = _story(kind, INSIDE) + f"\n[overrides.shorts_frame]\nthing = {{ box = {INSIDE} }}\n"
    template = load_template(_write(tmp_path, text), PALETTE)
    assert template.layers_for("shorts_frame")[1].box.y == 0.2


def test_photos_scrims_shapes_and_backgrounds_may_run_under_the_bars(tmp_path: Path) -> None:
    whole = "{ x = -0.1, y = -0.1, w = 1.2, h = 1.2 }"
    text = STORY + "".join(
        f'\n[[layers]]\nname = "{name}"\n{body}box = {whole}\n'
        for name, body in [
            ("photo", 'type = "image"\nsource = "photo"\n'),
            ("scrim", 'type = "scrim"\n'),
            ("panel", 'type = "shape"\ncolor = "paper"\n'),
        ]
    )
    template = load_template(_write(tmp_path, text), PALETTE)
    assert [layer.name for layer in template.layers_for("shorts_frame")][1:] == [
        "photo",
        "scrim",
        "panel",
    ]


@pytest.mark.parametrize(
    "box,extra,drawn",
    [
        # 96 px tall in a story: under the 140 px logo_min_px of formats.toml
        ("{ x = 0.4, y = 0.3, w = 0.2, h = 0.05 }", "", 96),
        # tall enough, but a narrow box shrinks the mark (the mark is about 0.41 as wide as tall)
        ("{ x = 0.4, y = 0.3, w = 0.04, h = 0.2 }", "", 106),
        # tall enough, but the pad kept around it on its plate leaves too little
        ("{ x = 0.4, y = 0.3, w = 0.2, h = 0.08 }", 'backdrop = "paper"\npad = 0.02\n', 110),
    ],
)
def test_the_network_logo_has_a_least_size_per_format(
    tmp_path: Path, box: str, extra: str, drawn: int
) -> None:
    path = _write(tmp_path, _story("network logo", box, extra))
    with pytest.raises(TemplateError) as info:
        load_template(path, PALETTE)
    assert (info.value.file, info.value.layer, info.value.key) == (str(path), "thing", "box")
    assert (
        f"in format story: the network logo would be drawn {drawn} px tall, under the 140 px "
        "this format needs (logo_min_px in formats.toml)" in str(info.value)
    )
    # the member's own logo has no least size; the network logo at 0.08 of 1920 px does
    load_template(_write(tmp_path, _story("member logo", box, extra)), PALETTE)
    load_template(_write(tmp_path, _story("network logo", INSIDE)), PALETTE)


def test_network_logo_height_matches_the_drawn_mark() -> None:
    mark_w, mark_h = network_logo_mark_size()
    assert 0.3 < mark_w / mark_h < 0.5  # the sole and the wordmark under it: tall and narrow
    assert network_logo_height(1000, 150) == 150
    assert network_logo_height(1000, 150, pad=10) == 130
    assert network_logo_height(41, 1000) == round(mark_h * 41 / mark_w)
    assert network_logo_height(20, 20, pad=10) == 0


@pytest.mark.parametrize(
    "body,key,message",
    [
        ('plate = { color = "pink" }', "plate.color", "palette"),
        ('plate = { color = "primary", pad_x = -1 }', "plate.pad_x", "greater than or equal"),
        ('plate = { color = "primary", size = 3 }', "plate.size", "unknown key"),
    ],
)
def test_a_plate_is_checked_like_any_key(tmp_path: Path, body: str, key: str, message: str) -> None:
    text = BASE.replace('field = "business_name"', f'field = "business_name"\n{body}')
    with pytest.raises(TemplateError, match=message) as info:
        load_template(_write(tmp_path, text), PALETTE)
    assert info.value.layer == "title" and info.value.key == key


@pytest.mark.parametrize("source", ["logo", "network_logo", "network_logo_on_dark"])
def test_a_logo_is_never_cropped(tmp_path: Path, source: str) -> None:
    """`cover` fills the box by cutting the image: a logo would lose its edges (the network
    logo its "IFN") while the least-size check, which measures the mark whole, passed."""
    text = STORY + (
        f'\n[[layers]]\nname = "mark"\ntype = "image"\nsource = "{source}"\nfit = "cover"\n'
        "box = { x = 0.3, y = 0.3, w = 0.4, h = 0.1 }\n"
    )
    path = _write(tmp_path, text)
    with pytest.raises(TemplateError, match="never cropped: set fit = 'contain'") as info:
        load_template(path, PALETTE)
    assert (info.value.file, info.value.layer) == (str(path), "mark")
    # through an override too
    text = STORY + (
        f'\n[[layers]]\nname = "mark"\ntype = "image"\nsource = "{source}"\nfit = "contain"\n'
        "box = { x = 0.3, y = 0.3, w = 0.4, h = 0.1 }\n"
        '\n[overrides.shorts_frame]\nmark = { fit = "cover" }\n'
    )
    with pytest.raises(TemplateError, match="in format shorts_frame: a logo is shown whole"):
        load_template(_write(tmp_path, text), PALETTE)


def test_a_full_screen_vertical_format_says_where_the_platform_draws() -> None:
    """A 9:16 format added without `safe` would let text sit under a platform's bars with no
    check failing: it is refused until it says where they are (`safe = {}` for nowhere)."""
    with pytest.raises(ValidationError, match="reel: a full-screen vertical format needs `safe`"):
        CardFormat(id="reel", title="Reel", width=1080, height=1920)
    assert CardFormat(id="reel", title="Reel", width=1080, height=1920, safe={}).safe_rect() == (
        0,
        0,
        1080,
        1920,
    )
    CardFormat(id="portrait", title="Feed 4:5", width=1080, height=1350)  # feed: none needed
    assert all(f.safe != SafeZone() for f in formats().values() if f.height >= 1.7 * f.width)


def test_pad_is_for_contained_images(tmp_path: Path) -> None:
    text = STORY + (
        '\n[[layers]]\nname = "photo"\ntype = "image"\nsource = "photo"\npad = 0.01\n'
        f"box = {INSIDE}\n"
    )
    with pytest.raises(TemplateError, match="fit = 'contain'") as info:
        load_template(_write(tmp_path, text), PALETTE)
    assert info.value.layer == "photo"


def test_the_shipped_story_and_shorts_layouts_are_their_own() -> None:
    """The Shorts frame's zones differ from the story's: each shipped template that has both
    lays the Shorts frame out with overrides of its own, and its kept-clear layers stay left of
    YouTube's button column and above its title row."""
    fmt = formats()["shorts_frame"]
    left, top, right, bottom = fmt.safe_rect()
    for template in load_all(palette=None).values():
        if "shorts_frame" not in template.formats:
            continue
        assert template.layers_for("shorts_frame") != template.layers_for("story")
        for layer in template.layers_for("shorts_frame"):
            if kept_clear(layer):
                x, y, w, h = layer.box.pixels(fmt.width, fmt.height)
                assert left <= x and x + w <= right <= 890 and top <= y and y + h <= bottom
