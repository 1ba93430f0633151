"""Card templates: validated TOML data, named layers, relative geometry, per-format overrides.

A template is a list of layers drawn in order. Geometry is relative (0..1 of the canvas width
and height) so one template serves every format; `[overrides.<format>.<layer>]` replaces keys of
one layer in one format. Font sizes are fractions of the canvas's shorter side. Colours are
palette names (assets/brand/palette.toml) or "#RRGGBB". Every error names the file, the layer and
the key, so staff can fix a template without reading code.
"""

from __future__ import annotations

import copy
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ifn_campaign import bundled
from ifn_campaign.cards.network_logo import LOGO_PATH
from ifn_campaign.errors import TemplateError

TEMPLATES_DIR = bundled.templates("cards")
FORMATS_FILE = TEMPLATES_DIR / "formats.toml"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

TextField = Literal[
    "business_name", "place", "tagline", "sentra", "network_name", "campaign", "initials"
]
ImageSource = Literal["photo", "logo", "network_logo", "network_logo_on_dark"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SafeZone(_Strict):
    """Pixels at each edge that the platform's own buttons and captions may cover."""

    top: Annotated[int, Field(ge=0)] = 0
    bottom: Annotated[int, Field(ge=0)] = 0
    left: Annotated[int, Field(ge=0)] = 0
    right: Annotated[int, Field(ge=0)] = 0


class CardFormat(_Strict):
    """One output size (templates/cards/formats.toml)."""

    id: str
    title: str
    width: Annotated[int, Field(ge=64, le=4096)]
    height: Annotated[int, Field(ge=64, le=4096)]
    quality: Annotated[int, Field(ge=50, le=100)] = 90
    safe: SafeZone = SafeZone()
    # the network logo's drawn height (the mark and its wordmark) may not be less: below it the
    # "IFN" under the sole cannot be read on a phone
    logo_min_px: Annotated[int, Field(ge=0, le=4096)] = 0

    @model_validator(mode="after")
    def _room_left(self) -> CardFormat:
        if self.height >= 1.7 * self.width and "safe" not in self.model_fields_set:
            # every platform that shows a full-screen vertical picture (Stories, Reels, Shorts,
            # TikTok) draws its bars and buttons over it: say where, or `safe = {}` for nowhere
            raise ValueError(
                f"{self.id}: a full-screen vertical format needs `safe` (the pixels the "
                "platform's bars and buttons cover at each edge)"
            )
        if self.safe.left + self.safe.right >= self.width:
            raise ValueError(f"{self.id}: safe.left + safe.right leave no width")
        if self.safe.top + self.safe.bottom >= self.height:
            raise ValueError(f"{self.id}: safe.top + safe.bottom leave no height")
        return self

    def safe_rect(self) -> tuple[int, int, int, int]:
        """The rectangle nothing of ours may leave, in pixels: (left, top, right, bottom)."""
        return (
            self.safe.left,
            self.safe.top,
            self.width - self.safe.right,
            self.height - self.safe.bottom,
        )


class Box(_Strict):
    """A rectangle in fractions of the canvas (x, y of the top-left corner)."""

    x: Annotated[float, Field(ge=-1, le=2)]
    y: Annotated[float, Field(ge=-1, le=2)]
    w: Annotated[float, Field(gt=0, le=3)]
    h: Annotated[float, Field(gt=0, le=3)]

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        return (
            round(self.x * width),
            round(self.y * height),
            max(1, round(self.w * width)),
            max(1, round(self.h * height)),
        )


Color = Annotated[str, Field(min_length=1, max_length=40)]


class Fill(_Strict):
    """Exactly one of a colour, a named gradient or a bound image."""

    color: Color | None = None
    gradient: str | None = None
    image: ImageSource | None = None
    direction: Literal["vertical", "horizontal", "diagonal"] = "vertical"
    blur: Annotated[float, Field(ge=0, le=0.2)] = 0
    darken: Annotated[float, Field(ge=0, le=1)] = 0

    @model_validator(mode="after")
    def _one(self) -> Fill:
        given = [k for k in ("color", "gradient", "image") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of color, gradient, image")
        return self


class _Layer(_Strict):
    name: Annotated[str, Field(pattern=_NAME.pattern)]
    when: Literal["always", "has_photo", "has_logo", "no_photo", "no_logo"] = "always"


class BackgroundLayer(_Layer):
    type: Literal["background"]
    fill: Fill


class ImageLayer(_Layer):
    """A photo or logo. A `contain` image with a `backdrop` sits on a plate of that colour that
    hugs the fitted image with `pad` clear space around it (a fraction of the canvas's shorter
    side), so a logo reads on any ground; `radius` rounds the plate's corners."""

    type: Literal["image"]
    source: ImageSource
    box: Box
    fit: Literal["cover", "contain"] = "cover"
    radius: Annotated[float, Field(ge=0, le=0.5)] = 0
    border: Color | None = None
    border_width: Annotated[float, Field(ge=0, le=0.05)] = 0
    backdrop: Color | None = None
    pad: Annotated[float, Field(ge=0, le=0.2)] = 0

    @model_validator(mode="after")
    def _pad_needs_contain(self) -> ImageLayer:
        if self.pad and self.fit != "contain":
            raise ValueError("pad keeps space around a contained image: set fit = 'contain'")
        if self.source != "photo" and self.fit != "contain":
            # `cover` crops to fill the box: the network logo lost its "IFN" and still passed
            # the least-size check, which measures the mark whole
            raise ValueError("a logo is shown whole, never cropped: set fit = 'contain'")
        return self


class ScrimLayer(_Layer):
    type: Literal["scrim"]
    box: Box
    color: Color = "scrim"
    opacity_start: Annotated[float, Field(ge=0, le=1)] = 0.0
    opacity_end: Annotated[float, Field(ge=0, le=1)] = 0.8
    direction: Literal["down", "up", "right", "left"] = "down"


class ShapeLayer(_Layer):
    type: Literal["shape"]
    shape: Literal["rect", "rounded", "ellipse"] = "rect"
    box: Box
    color: Color
    opacity: Annotated[float, Field(ge=0, le=1)] = 1.0
    radius: Annotated[float, Field(ge=0, le=0.5)] = 0.02


class Plate(_Strict):
    """A filled shape that hugs a text layer's fitted text (a badge's pill): its size follows
    the measured ink, with `pad_x` and `pad_y` on each side in ems of the size the text got, so
    the padding stays even whatever the text and size. `radius` is a fraction of the plate's
    height: 0.5 gives round ends, 0 square corners."""

    color: Color
    pad_x: Annotated[float, Field(ge=0, le=3)] = 0.8
    pad_y: Annotated[float, Field(ge=0, le=3)] = 0.5
    radius: Annotated[float, Field(ge=0, le=0.5)] = 0.5


class TextLayer(_Layer):
    type: Literal["text"]
    field: TextField | None = None
    text: Annotated[str | None, Field(max_length=200)] = None
    box: Box
    font: str = "body"
    weight: int | str = "regular"
    color: Color = "ink"
    min_size: Annotated[float, Field(gt=0, le=0.5)] = 0.02
    max_size: Annotated[float, Field(gt=0, le=0.5)] = 0.05
    max_lines: Annotated[int, Field(ge=1, le=12)] = 2
    line_spacing: Annotated[float, Field(ge=0.8, le=2.5)] = 1.15
    align: Literal["left", "center", "right"] = "left"
    valign: Literal["top", "middle", "bottom"] = "top"
    uppercase: bool = False
    # a pill behind the text, hugging it; `box` is then the most the plate may take
    plate: Plate | None = None

    @model_validator(mode="after")
    def _source(self) -> TextLayer:
        if (self.field is None) == (self.text is None):
            raise ValueError("give exactly one of field (member data) or text (a literal)")
        if self.min_size > self.max_size:
            raise ValueError("min_size is larger than max_size")
        return self


class BadgeLayer(_Layer):
    """A pill with the member's actor type ("Produsen"); colour per type from the palette."""

    type: Literal["badge"]
    field: Literal["actor_type"] = "actor_type"
    box: Box
    font: str = "body"
    weight: int | str = "bold"
    color: Color = "on_primary"
    fill: Color | None = None
    size: Annotated[float, Field(gt=0, le=0.2)] = 0.028
    align: Literal["left", "center", "right"] = "left"


class ChipsLayer(_Layer):
    """Category chips, as many as fit on one line of the box (at most `max_items`)."""

    type: Literal["chips"]
    field: Literal["categories"] = "categories"
    box: Box
    font: str = "body"
    weight: int | str = "medium"
    color: Color = "ink"
    fill: Color = "accent_light"
    size: Annotated[float, Field(gt=0, le=0.2)] = 0.024
    max_items: Annotated[int, Field(ge=1, le=8)] = 3
    align: Literal["left", "center", "right"] = "left"


Layer = Annotated[
    BackgroundLayer | ImageLayer | ScrimLayer | ShapeLayer | TextLayer | BadgeLayer | ChipsLayer,
    Field(discriminator="type"),
]


class _Spec(_Strict):
    layers: list[Layer]


class CardTemplate(BaseModel):
    """A validated template: resolve per format with `layers_for(format_id)`."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    title: str
    path: Path
    requires: Literal["photo", "logo", "none"]
    fallback: str | None
    formats: tuple[str, ...]
    resolved: dict[str, tuple[Any, ...]]

    def layers_for(self, format_id: str) -> tuple[Any, ...]:
        if format_id not in self.resolved:
            raise TemplateError(
                f"format {format_id!r} is not one of {', '.join(self.formats)}",
                file=str(self.path),
                key="formats",
            )
        return self.resolved[format_id]


class _Head(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
    title: Annotated[str, Field(min_length=1, max_length=120)]
    description: str = ""
    requires: Literal["photo", "logo", "none"] = "none"
    fallback: str | None = None
    formats: Annotated[list[str], Field(min_length=1)]
    layers: list[dict[str, Any]]
    # per format: {layer: {key: value}}, or the name of another format whose overrides apply
    overrides: dict[str, dict[str, dict[str, Any]] | str] = {}


@cache
def formats() -> dict[str, CardFormat]:
    """Every card format, from templates/cards/formats.toml."""
    data = _read(FORMATS_FILE)
    try:
        return {k: CardFormat(id=k, **v) for k, v in data.items()}
    except (ValidationError, TypeError) as exc:
        raise TemplateError(f"invalid format: {exc}", file=str(FORMATS_FILE)) from None


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TemplateError("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"cannot read: {exc}", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"not valid TOML: {exc}", file=str(path)) from None


def _pydantic_error(
    exc: ValidationError, path: Path, layers: list[Any], prefix: str = ""
) -> TemplateError:
    err = exc.errors()[0]
    loc = list(err["loc"])
    layer = None
    if len(loc) >= 2 and loc[0] == "layers" and isinstance(loc[1], int):
        raw = layers[loc[1]] if loc[1] < len(layers) else {}
        layer = (
            str(raw.get("name") or f"#{loc[1] + 1}") if isinstance(raw, dict) else f"#{loc[1] + 1}"
        )
        loc = loc[2:]
        if loc and isinstance(loc[0], str) and loc[0] in _LAYER_TYPES:
            loc = loc[1:]  # the discriminator's branch name is noise for staff
    key = ".".join(str(p) for p in loc) or None
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown key (a typo?)"
    elif err["type"] == "union_tag_invalid":
        message = f"unknown layer type; use one of {', '.join(sorted(_LAYER_TYPES))}"
    return TemplateError(prefix + message, file=str(path), layer=layer, key=key)


_LAYER_TYPES = {"background", "image", "scrim", "shape", "text", "badge", "chips"}


def load_template(path: Path, palette: dict[str, str] | None = None) -> CardTemplate:
    """Read and validate a template for every format it supports."""
    data = _read(path)
    try:
        head = _Head.model_validate(data)
    except ValidationError as exc:
        raise _pydantic_error(exc, path, data.get("layers") or []) from None
    known = formats()
    for format_id in head.formats:
        if format_id not in known:
            raise TemplateError(
                f"unknown format {format_id!r}; known: {', '.join(known)}",
                file=str(path),
                key="formats",
            )
    names = [layer.get("name") for layer in head.layers]
    duplicates = sorted({str(n) for n in names if names.count(n) > 1})
    if duplicates:
        raise TemplateError(
            "layer name used twice", file=str(path), layer=duplicates[0], key="name"
        )
    resolved: dict[str, tuple[Any, ...]] = {}
    for format_id in head.formats:
        overrides = head.overrides.get(format_id, {})
        alias = overrides if isinstance(overrides, str) else None
        if isinstance(overrides, str):  # "shorts_frame = 'story'": share one set of overrides
            shared = head.overrides.get(overrides)
            if not isinstance(shared, dict):
                raise TemplateError(
                    f"overrides refer to format {overrides!r}, which has no overrides of its own",
                    file=str(path),
                    key=f"overrides.{format_id}",
                )
            overrides = shared
        for layer_name in overrides:
            if layer_name not in names:
                raise TemplateError(
                    f"override for a layer that does not exist (format {format_id})",
                    file=str(path),
                    layer=layer_name,
                )
        merged = []
        for layer in head.layers:
            layer = copy.deepcopy(layer)
            layer.update(copy.deepcopy(overrides.get(str(layer.get("name")), {})))
            merged.append(layer)
        try:
            spec = _Spec.model_validate({"layers": merged})
        except ValidationError as exc:
            prefix = f"in format {format_id}: " if overrides else ""
            raise _pydantic_error(exc, path, merged, prefix) from None
        if palette is not None:
            _check_colours(spec.layers, palette, path)
        _check_layout(spec.layers, known[format_id], path, alias)
        resolved[format_id] = tuple(spec.layers)
    for format_id in head.overrides:
        if format_id not in head.formats:
            raise TemplateError(
                f"overrides for format {format_id!r}, which the template does not list",
                file=str(path),
                key=f"overrides.{format_id}",
            )
    return CardTemplate(
        name=head.name,
        title=head.title,
        path=path,
        requires=head.requires,
        fallback=head.fallback,
        formats=tuple(head.formats),
        resolved=resolved,
    )


def _check_colours(layers: list[Any], palette: dict[str, str], path: Path) -> None:
    for layer in layers:
        for key in ("color", "border", "backdrop", "fill", "plate"):
            value = getattr(layer, key, None)
            if isinstance(value, Fill):
                value = value.color
                key = "fill.color"
            elif isinstance(value, Plate):
                value = value.color
                key = "plate.color"
            if isinstance(value, str) and not (_HEX.match(value) or value in palette):
                raise TemplateError(
                    f"colour {value!r} is neither #RRGGBB nor a palette name "
                    f"({', '.join(sorted(palette))})",
                    file=str(path),
                    layer=layer.name,
                    key=key,
                )


def kept_clear(layer: Any) -> bool:
    """True for a layer people must be able to read or see: text, badges, chips, logos. These
    stay inside a format's safe zone; the background, photos, scrims and shapes (decoration)
    may run under the platform's bars."""
    if isinstance(layer, TextLayer | BadgeLayer | ChipsLayer):
        return True
    return isinstance(layer, ImageLayer) and layer.source != "photo"


def _check_layout(layers: list[Any], fmt: CardFormat, path: Path, alias: str | None) -> None:
    """Every kept-clear layer's box lies inside the format's safe rectangle (the canvas when it
    has none), and the network logo is drawn at least `logo_min_px` tall."""
    left, top, right, bottom = fmt.safe_rect()
    zone = "safe zone" if fmt.safe != SafeZone() else "card"
    where = f"in format {fmt.id}" + (f" (laid out by the overrides of {alias})" if alias else "")
    for layer in layers:
        if not kept_clear(layer):
            continue
        x, y, w, h = layer.box.pixels(fmt.width, fmt.height)
        problem = None
        if x < left:
            problem = f"starts at x={x} px, outside the {zone} {left}..{right} px"
        elif x + w > right:
            problem = f"reaches x={x + w} px, outside the {zone} {left}..{right} px"
        elif y < top:
            problem = f"starts at y={y} px, outside the {zone} {top}..{bottom} px"
        elif y + h > bottom:
            problem = f"reaches y={y + h} px, outside the {zone} {top}..{bottom} px"
        network = isinstance(layer, ImageLayer) and layer.source.startswith("network_logo")
        if problem is None and network:
            drawn = network_logo_height(w, h, round(layer.pad * min(fmt.width, fmt.height)))
            if drawn < fmt.logo_min_px:
                problem = (
                    f"the network logo would be drawn {drawn} px tall, under the "
                    f"{fmt.logo_min_px} px this format needs (logo_min_px in formats.toml)"
                )
        if problem is not None:
            raise TemplateError(f"{where}: {problem}", file=str(path), layer=layer.name, key="box")


def network_logo_height(width: int, height: int, pad: int = 0) -> int:
    """How tall the network logo comes out when contained in a box of width x height with `pad`
    pixels kept clear on each side (the renderer draws the mark without its own margins)."""
    mark_w, mark_h = network_logo_mark_size()
    inner_w, inner_h = width - 2 * pad, height - 2 * pad
    if inner_w <= 0 or inner_h <= 0:
        return 0
    factor = min(inner_w / mark_w, inner_h / mark_h)
    return min(inner_h, max(1, round(mark_h * factor)))


@cache
def network_logo_mark_size() -> tuple[int, int]:
    """The network logo's mark (its opaque part, without the file's clear margins), in pixels of
    the committed file; both variants have the same shape."""
    with Image.open(LOGO_PATH) as img:
        box = img.getchannel("A").getbbox()
    if box is None:
        raise TemplateError("the network logo is empty", file=str(LOGO_PATH))
    return box[2] - box[0], box[3] - box[1]


def template_path(name: str, directory: Path = TEMPLATES_DIR) -> Path:
    """The file of a template name; names are plain words, never paths."""
    if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
        raise TemplateError("template names are lowercase words and dashes", file=name)
    return directory / f"{name}.toml"


def template_files(templates_dir: Path | None = None) -> dict[str, Path]:
    """The card template files by name: the shipped ones, each replaced or joined by the file of
    that name in `templates_dir/cards` (the settings' templates.dir). formats.toml is not one:
    the platforms' sizes are the product's, never a user's."""
    found = bundled.template_files("cards", "*.toml", templates_dir)
    return {Path(name).stem: path for name, path in found.items() if name != FORMATS_FILE.name}


def load_all(
    directory: Path | None = None,
    palette: dict[str, str] | None = None,
    *,
    templates_dir: Path | None = None,
) -> dict[str, CardTemplate]:
    """Every template (formats.toml excluded), checking fallbacks exist: those in `directory`
    when given, else the shipped ones with the user's from `templates_dir/cards` in their place
    (`template_files`)."""
    if directory is None:
        paths = list(template_files(templates_dir).values())
    else:
        paths = sorted(directory.glob("*.toml"))
    templates = {}
    for path in paths:
        if path == FORMATS_FILE or path.name == FORMATS_FILE.name:
            continue
        template = load_template(path, palette)
        templates[template.name] = template
    for template in templates.values():
        if template.fallback and template.fallback not in templates:
            raise TemplateError(
                f"fallback template {template.fallback!r} does not exist",
                file=str(template.path),
                key="fallback",
            )
    return templates
