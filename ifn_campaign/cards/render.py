"""Draw a member's cards: one template, every format, deterministic bytes, content-addressed cache.

Each photo is decoded once, at the largest size any requested format needs, and its focus point
is found once; every format is then cut from that. The cache key covers everything that can
change a card's pixels (renderer version, template, formats, brand kit, member text, source image
hashes), so an unchanged card is never drawn twice.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ifn_campaign.cards import photo as photos
from ifn_campaign.cards.brand import NETWORK_NAME, BrandKit
from ifn_campaign.cards.template import (
    FORMATS_FILE,
    BackgroundLayer,
    BadgeLayer,
    CardFormat,
    CardTemplate,
    ChipsLayer,
    ImageLayer,
    Plate,
    ScrimLayer,
    ShapeLayer,
    TextLayer,
    formats,
)
from ifn_campaign.cards.text import TextBlock, draw_text, fit_text, text_extent, text_mask
from ifn_campaign.errors import NoTemplateFits, TemplateNotFound
from ifn_campaign.files import write_atomically

RENDERER_VERSION = "5"  # bump whenever the same inputs would give other pixels
LOW_RESOLUTION_UPSCALE = 2.0
INSTAGRAM_MAX_BYTES = 8 * 1024 * 1024
_SUPERSAMPLE = 4
_PILLS = 1024  # drawn badge and chip pills kept per renderer
_BARS = {  # what a platform draws in each band outside a format's safe zone, for the notes
    "top": "top bar",
    "bottom": "bottom bar",
    "left": "left edge",
    "right": "button column",
}
_BLUR_SCALE = 8  # a blurred background photo is cut at 1/8 of the canvas, blurred, enlarged


@dataclass(frozen=True)
class CardData:
    """What a card shows about one member; text is data, never markup."""

    member_id: str
    business_name: str
    place: str
    tagline: str
    sentra: str
    actor_type: str | None
    actor_label: str
    categories: tuple[str, ...]
    initials: str
    campaign: str = "Sorotan Anggota IFN"
    photo: photos.SourceImage | None = field(default=None, compare=False)
    photo_sha: str | None = None
    logo: photos.SourceImage | None = field(default=None, compare=False)
    logo_sha: str | None = None
    notes: tuple[str, ...] = ()

    def text(self, name: str) -> str:
        if name == "network_name":
            return NETWORK_NAME
        return str(getattr(self, name))


class Stopwatch:
    """Seconds spent per phase ("draw" contains "resize" and "text"; then "encode"), so the
    benchmark can say where a card's time goes. Rendering without one costs nothing."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started


class _NoStopwatch(Stopwatch):
    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        yield


@dataclass(frozen=True)
class RenderedCard:
    member_id: str
    template: str
    format: str
    path: Path
    width: int
    height: int
    cached: bool
    low_resolution: bool
    notes: tuple[str, ...]


class Renderer:
    """Renders cards with one brand kit and template set into a content-addressed folder."""

    def __init__(
        self,
        brand: BrandKit,
        templates: dict[str, CardTemplate],
        out_dir: Path,
        stopwatch: Stopwatch | None = None,
    ) -> None:
        self.stopwatch = stopwatch or _NoStopwatch()
        # one thread writing card files while the next format is drawn: a write waits on the
        # disk (more so while the kernel flushes a big run), not on the CPU; started on first use
        self._files = ThreadPoolExecutor(1, thread_name_prefix="card-writer")
        # member-independent layer runs, drawn once per template and format (see _Canvas.draw)
        self._plates: dict[tuple[Any, ...], _Plate] = {}
        # badge and chip labels come from the vocabulary: each pill is drawn once per size
        self._pills: dict[tuple[Any, ...], Image.Image] = {}
        self._cuts: dict[str, dict[str, tuple[tuple[int, int], ...]]] = {}
        self.brand = brand
        self.templates = templates
        self.out_dir = out_dir
        self._formats_hash = hashlib.sha256(FORMATS_FILE.read_bytes()).hexdigest()
        self._template_hash = {
            name: hashlib.sha256(t.path.read_bytes()).hexdigest() for name, t in templates.items()
        }

    def choose(self, data: CardData, name: str) -> CardTemplate:
        """The named template, or its fallback chain when the member lacks what it requires."""
        seen = []
        template = self.template(name)
        while not self._satisfied(template, data):
            seen.append(template.name)
            if not template.fallback or template.fallback in seen:
                raise NoTemplateFits(
                    f"member {data.member_id} has no usable {template.requires} for template "
                    f"{template.name!r} and no fallback applies"
                )
            template = self.template(template.fallback)
        return template

    def template(self, name: str) -> CardTemplate:
        """A template by name, or a TemplateNotFound listing the known ones."""
        if name not in self.templates:
            raise TemplateNotFound(f"no card template {name!r}; known: {', '.join(self.templates)}")
        return self.templates[name]

    @staticmethod
    def _satisfied(template: CardTemplate, data: CardData) -> bool:
        return (
            template.requires == "none"
            or (template.requires == "photo" and data.photo is not None)
            or (template.requires == "logo" and data.logo is not None)
        )

    def render(
        self,
        data: CardData,
        template_name: str = "sorotan",
        format_ids: Sequence[str] | None = None,
        *,
        png: bool = False,
    ) -> list[RenderedCard]:
        template = self.choose(data, template_name)
        wanted = list(format_ids or template.formats)
        cards: list[RenderedCard] = []
        writes: list[Future[None]] = []
        try:
            self._draw_formats(data, template, wanted, png, cards, writes)
        finally:
            # every file is in place (or its error raised) before render returns
            failed = next((e for e in [f.exception() for f in writes] if e is not None), None)
        if failed is not None:
            raise failed
        return cards

    def _draw_formats(
        self,
        data: CardData,
        template: CardTemplate,
        wanted: list[str],
        png: bool,
        cards: list[RenderedCard],
        writes: list[Future[None]],
    ) -> None:
        """Draw and encode each wanted format, handing its file to the writer thread."""
        fitted: dict[tuple[str, int, int], Image.Image] = {}
        # formats laid out alike at the same size (the Shorts frame is the story) are drawn once
        drawn: list[tuple[tuple[int, int], tuple[Any, ...], Image.Image, list[str]]] = []
        inputs = self._inputs(data, template, png)
        known = formats()
        for format_id in wanted:
            fmt = known.get(format_id)
            if fmt is None or format_id not in template.formats:
                raise TemplateNotFound(
                    f"template {template.name!r} has no format {format_id!r}; "
                    f"it has {', '.join(template.formats)}"
                )
            key = hashlib.sha256(f"{inputs}\0{fmt.id}".encode()).hexdigest()
            path = self.out_dir / key[:2] / f"{key}.{'png' if png else 'jpg'}"
            notes = list(data.notes)
            upscale = self._max_upscale(data, template, fmt)
            low = upscale > LOW_RESOLUTION_UPSCALE
            if low:
                notes.append(f"photo upscaled {upscale:.1f}x: low resolution")
            # a layer's notes ("text shortened to fit", "product under ...") come from drawing
            # it: they are kept beside the card, and a card without them is drawn again
            notes_path = path.with_suffix(".notes.json")
            stored = _read_notes(notes_path) if path.exists() else None
            cached = stored is not None
            if stored is not None:
                notes += stored
            else:
                layers = template.layers_for(format_id)
                size = (fmt.width, fmt.height)
                with self.stopwatch.phase("draw"):
                    same = [d for d in drawn if d[0] == size and d[1] == layers]
                    if same:
                        image, layer_notes = same[0][2], same[0][3]
                    else:
                        canvas = _Canvas(
                            self.brand,
                            data,
                            fmt,
                            self.stopwatch,
                            fitted,
                            self._pills,
                            self._cut_sizes(template),
                        )
                        image, layer_notes = canvas.draw(layers, self._plates, template.name)
                        drawn.append((size, layers, image, layer_notes))
                notes += layer_notes
                with self.stopwatch.phase("encode"):
                    encoded = _encode(image, fmt, png)
                writes.append(self._files.submit(_write, path, encoded))
                recorded = json.dumps(layer_notes, ensure_ascii=False).encode()
                writes.append(self._files.submit(_write, notes_path, recorded))
            cards.append(
                RenderedCard(
                    data.member_id,
                    template.name,
                    format_id,
                    path,
                    fmt.width,
                    fmt.height,
                    cached,
                    low,
                    tuple(dict.fromkeys(notes)),
                )
            )

    def _inputs(self, data: CardData, template: CardTemplate, png: bool) -> str:
        """Everything but the format that a card's pixels depend on, as text: hashed with the
        format's id into the card's cache key (serialised once for all of a member's formats)."""
        payload = {
            "renderer": RENDERER_VERSION,
            "template": self._template_hash[template.name],
            "formats": self._formats_hash,
            "brand": self.brand.fingerprint,  # fonts, and the text engine's library versions
            "resampler": photos.RESAMPLER,
            "data": {k: v for k, v in data.__dict__.items() if k not in ("photo", "logo", "notes")},
            # the same file decoded at another size gives other pixels (and another focus)
            "decoded": [img.image.size if img else None for img in (data.photo, data.logo)],
            "png": png,
        }
        return json.dumps(payload, sort_keys=True, ensure_ascii=False, default=list)

    def _cut_sizes(self, template: CardTemplate) -> dict[str, tuple[tuple[int, int], ...]]:
        """Every box the template's formats cut from each image ("cover"), by image name."""
        found = self._cuts.get(template.name)
        if found is None:
            sizes: dict[str, set[tuple[int, int]]] = {}
            known = formats()
            for format_id in template.formats:
                fmt = known[format_id]
                for layer in template.layers_for(format_id):
                    if isinstance(layer, ImageLayer) and layer.fit == "cover":
                        _, _, w, h = layer.box.pixels(fmt.width, fmt.height)
                        sizes.setdefault(layer.source, set()).add((w, h))
            found = self._cuts[template.name] = {k: tuple(sorted(v)) for k, v in sizes.items()}
        return found

    @staticmethod
    def _max_upscale(data: CardData, template: CardTemplate, fmt: CardFormat) -> float:
        if data.photo is None:
            return 1.0
        factor = 1.0
        for layer in template.layers_for(fmt.id):
            if isinstance(layer, ImageLayer) and layer.source == "photo":
                _, _, w, h = layer.box.pixels(fmt.width, fmt.height)
                box = photos.crop_box(data.photo.original_size, w / h, (0.5, 0.5))
                factor = max(factor, w / max(1, box[2] - box[0]))
        return factor


def photo_side(template: CardTemplate, format_ids: Sequence[str]) -> int:
    """The longest side any layer drawn from the photo needs in these formats (a photo layer's
    box, or the whole canvas for a background filled with the photo): decode the photo once at
    that. A colour or gradient background needs no photo pixels, so it does not count. A
    template that shows no photo gets the longest canvas side (min_side must be positive)."""
    side = canvas = 0
    for format_id in format_ids:
        layers = template.layers_for(format_id)  # a clear error for an unknown format
        fmt = formats()[format_id]
        canvas = max(canvas, fmt.width, fmt.height)
        for layer in layers:
            if isinstance(layer, ImageLayer) and layer.source == "photo":
                side = max(side, *layer.box.pixels(fmt.width, fmt.height)[2:])
            elif isinstance(layer, BackgroundLayer) and layer.fill.image == "photo":
                # a blurred background is cut at a fraction of the canvas (`_Canvas._background`)
                scale = _BLUR_SCALE if layer.fill.blur else 1
                side = max(side, -(-max(fmt.width, fmt.height) // scale))
    return side or canvas


class _Canvas:
    """One card being drawn; layers go onto an opaque RGB canvas in order (plates are drawn on
    a transparent RGBA one, where layers composite "over")."""

    def __init__(
        self,
        brand: BrandKit,
        data: CardData,
        fmt: CardFormat,
        stopwatch: Stopwatch,
        fitted: dict[tuple[str, int, int], Image.Image],
        pills: dict[tuple[Any, ...], Image.Image] | None = None,
        cuts: dict[str, tuple[tuple[int, int], ...]] | None = None,
    ) -> None:
        self.brand = brand
        self.cuts = cuts or {}  # every box the template cuts from each image, for `_cut`
        self.pills = pills
        self.data = data
        self.fmt = fmt
        self.clock = stopwatch
        self.fitted = fitted  # one member's photo cut per box size, shared by its formats
        self.short = min(fmt.width, fmt.height)
        # made by `draw`, in the colour of a plain background layer when the card starts with
        # one (filling a full-size canvas twice costs about 0.5 ms a card)
        self.image = Image.new("RGB", (1, 1))
        self.notes: list[str] = []
        self.layers: Sequence[Any] = ()  # the layers `draw` is drawing (overlays of a photo)

    def draw(
        self,
        layers: Sequence[Any],
        plates: dict[tuple[Any, ...], _Plate] | None = None,
        template: str = "",
    ) -> tuple[Image.Image, list[str]]:
        """Draw the layers in order onto an opaque RGB canvas. Runs of layers that show nothing
        of the member (the background, the ribbon, the scrim, the network logo) are drawn once
        per template and format into a transparent plate and pasted through its alpha, when
        `plates` is given."""
        size = (self.fmt.width, self.fmt.height)
        self.layers = layers
        first = layers[0] if layers else None
        index = 0
        if isinstance(first, BackgroundLayer) and first.fill.color and first.when == "always":
            self.image = Image.new("RGB", size, self.brand.rgb(first.fill.color))
            index = 1
        else:
            self.image = Image.new("RGB", size, self.brand.rgb("paper"))
        while index < len(layers):
            end = index
            while plates is not None and end < len(layers) and _static(layers[end]):
                end += 1
            if end - index >= 2:  # a plate pays off from two layers on
                key = (template, self.fmt.id, index)
                if key not in plates:
                    plates[key] = self._plate(layers[index:end])
                plates[key].paste_onto(self.image)
                index = end
                continue
            layer = layers[index]
            if self._applies(layer.when):
                getattr(self, f"_{layer.type}")(layer)
            index += 1
        return self.image, self.notes

    def _plate(self, layers: Sequence[Any]) -> _Plate:
        canvas, self.image = self.image, Image.new("RGBA", self.image.size, (0, 0, 0, 0))
        try:
            for layer in layers:
                getattr(self, f"_{layer.type}")(layer)
            return _Plate.of(self.image)
        finally:
            self.image = canvas

    def _applies(self, when: str) -> bool:
        return {
            "always": True,
            "has_photo": self.data.photo is not None,
            "no_photo": self.data.photo is None,
            "has_logo": self.data.logo is not None,
            "no_logo": self.data.logo is None,
        }[when]

    def _px(self, layer: Any) -> tuple[int, int, int, int]:
        return layer.box.pixels(self.fmt.width, self.fmt.height)

    def _source(self, name: str) -> photos.SourceImage | None:
        if name == "photo":
            return self.data.photo
        if name == "logo":
            return self.data.logo
        return self.brand.source(name)

    # layer types ---------------------------------------------------------------------------

    def _background(self, layer: BackgroundLayer) -> None:
        size = (self.fmt.width, self.fmt.height)
        fill = layer.fill
        if fill.color:
            self.image.paste(self._ink(fill.color), (0, 0, *size))
        elif fill.gradient:
            start, end = self.brand.gradients[fill.gradient]
            self.image.paste(
                _gradient(size, self.brand.rgb(start), self.brand.rgb(end), fill.direction), (0, 0)
            )
        else:
            source = self._source(fill.image or "")
            if source is None:
                return
            with self.clock.phase("resize"):
                if fill.blur:
                    image = _blurred(source, size, fill.blur * self.short, fill.darken)
                else:
                    image, _ = photos.cover(source, *size)
                    if fill.darken:
                        black = Image.new("RGB", size, 0)
                        image = Image.blend(image.convert("RGB"), black, fill.darken)
            self.image.paste(image.convert(self.image.mode), (0, 0))

    def _image(self, layer: ImageLayer) -> None:
        source = self._source(layer.source)
        if source is None:
            return
        x, y, w, h = self._px(layer)
        with self.clock.phase("resize"):
            if layer.fit == "cover":
                image = self._cut(layer.source, source, w, h, self._overlays(layer), layer.name)
                offset = (x, y)
            else:
                image, offset = self._contained(layer, source)
        if layer.backdrop:
            plate = (x, y, w, h)
            if layer.fit == "contain":
                plate = self._backdrop(layer, image, offset) or plate
            self._rounded(plate, layer.backdrop, 1.0, layer.radius)
        if image.mode == "RGB" and not layer.radius:
            self.image.paste(image, offset)  # an opaque photo: a plain copy, no blending
        else:
            self._composite(image, offset, layer.radius)
        if layer.border and layer.border_width:
            width = max(1, round(layer.border_width * self.short))
            ImageDraw.Draw(self.image).rounded_rectangle(
                (x, y, x + w - 1, y + h - 1),
                radius=round(layer.radius * self.short),
                outline=self._ink(layer.border),
                width=width,
            )

    def _contained(
        self, layer: ImageLayer, source: photos.SourceImage
    ) -> tuple[Image.Image, tuple[int, int]]:
        """A `contain` image fitted inside its box less `pad` on each side, and where it goes."""
        x, y, w, h = self._px(layer)
        pad = round(layer.pad * self.short)
        inner = (max(1, w - 2 * pad), max(1, h - 2 * pad))
        if layer.source.startswith("network_logo"):
            image = self.brand.contained(layer.source, *inner)
        else:
            image, _ = photos.contain(source, *inner)
        return image, (x + pad, y + pad)

    def _backdrop(
        self, layer: ImageLayer, image: Image.Image, offset: tuple[int, int]
    ) -> tuple[int, int, int, int] | None:
        """The plate behind a contained image, (x, y, w, h): the image's opaque part with `pad`
        around it; None when the image shows nothing."""
        ink = (
            image.getchannel("A").getbbox() if image.mode in ("RGBA", "LA") else (0, 0, *image.size)
        )
        if ink is None:
            return None
        pad = round(layer.pad * self.short)
        left, top = offset[0] + ink[0] - pad, offset[1] + ink[1] - pad
        return (left, top, ink[2] - ink[0] + 2 * pad, ink[3] - ink[1] + 2 * pad)

    def _extent(self, layer: Any) -> tuple[int, int, int, int] | None:
        """What a layer drawn over the photo covers, (x, y, w, h) on the canvas: the text's ink
        or its plate, the badge's pill, the chips drawn, a contained image (on its plate), a
        shape's box; not the box it may take (a one-line tagline at the foot of a two-line box
        leaves the top line's photo uncovered). None when it draws nothing."""
        if isinstance(layer, TextLayer):
            fitted = self._fitted_text(layer)
            if fitted is None:
                return None
            block, chain, box = fitted
            if layer.plate is not None:
                placed = self._plate_at(layer, layer.plate, block, chain, box)
                return None if placed is None else placed[0]
            rendered = text_extent(block, chain, box[2], box[3], layer.align, layer.valign)
            if rendered is None:
                return None
            left, top, width, height = rendered
            return (box[0] + left, box[1] + top, width, height)
        if isinstance(layer, BadgeLayer):
            found = self._badge_at(layer)
            return None if found is None or found[1] is None else found[0]
        if isinstance(layer, ChipsLayer):
            left, pills, gap = self._chips_at(layer)
            if not pills:
                return None
            _, y, _, h = self._px(layer)
            return (left, y, sum(p[1] for p in pills) + gap * (len(pills) - 1), h)
        if isinstance(layer, ImageLayer) and layer.fit == "contain":
            source = self._source(layer.source)
            if source is None:
                return None
            image, offset = self._contained(layer, source)
            if layer.backdrop:
                return self._backdrop(layer, image, offset)
            return self._backdrop(layer.model_copy(update={"pad": 0}), image, offset)
        return self._px(layer)

    def _overlays(self, layer: ImageLayer) -> tuple[photos.Overlay, ...]:
        """What this card draws over an image layer, in the layer box's pixels: every later
        layer that shows something here (not a background, scrim or the same image), by what
        it draws (`_extent`), where that meets the image. The smart crop keeps the product
        clear of these."""
        x, y, w, h = self._px(layer)
        at = next((i for i, each in enumerate(self.layers) if each is layer), len(self.layers))
        found = []
        for other in self.layers[at + 1 :]:
            if isinstance(other, BackgroundLayer | ScrimLayer) or not self._applies(other.when):
                continue
            if isinstance(other, ShapeLayer) and other.opacity <= 0:
                continue  # drawn in no format's pixels (a panel only some formats show)
            if isinstance(other, ImageLayer) and (
                other.source == layer.source or self._source(other.source) is None
            ):
                continue
            if isinstance(other, TextLayer) and not (
                other.text if other.text is not None else self.data.text(other.field or "")
            ):
                continue
            if (isinstance(other, BadgeLayer) and not self.data.actor_label) or (
                isinstance(other, ChipsLayer) and not self.data.categories
            ):
                continue
            extent = self._extent(other)
            if extent is None:
                continue
            ox, oy, ow, oh = extent
            if ox < x + w and oy < y + h and ox + ow > x and oy + oh > y:
                found.append(photos.Overlay(other.name, (ox - x, oy - y, ox + ow - x, oy + oh - y)))
        # the platform's own bars and buttons cover the photo too (Stories, Shorts)
        safe = self.fmt.safe
        width, height = self.fmt.width, self.fmt.height
        for side, depth, (bx0, by0, bx1, by1) in (
            ("top", safe.top, (0, 0, width, safe.top)),
            ("bottom", safe.bottom, (0, height - safe.bottom, width, height)),
            ("left", safe.left, (0, 0, safe.left, height)),
            ("right", safe.right, (width - safe.right, 0, width, height)),
        ):
            if depth and bx0 < x + w and by0 < y + h and bx1 > x and by1 > y:
                band = (bx0 - x, by0 - y, bx1 - x, by1 - y)
                found.append(photos.Overlay(f"the platform's {_BARS[side]}", band))
        return tuple(found)

    def _cut(
        self,
        name: str,
        source: photos.SourceImage,
        w: int,
        h: int,
        avoid: Sequence[photos.Overlay] = (),
        layer: str = "",
    ) -> Image.Image:
        """The image's cover cut at w x h, made once per member: formats with the same box
        (story and Shorts frame) share it, and a box whose cut lies inside a larger one of the
        same scale among the template's boxes is cropped from it (`photos.parent_cut`). With
        overlays to `avoid`, the cut keeps the product clear of them (`photos.place`), and the
        card's notes say when it cannot."""
        if avoid:
            placement = photos.place(source, (w, h), avoid)
            if not placement.clear:
                under = ", ".join(
                    f"{over} ({share:.0%})"
                    for over, share in zip(placement.blocked, placement.shares, strict=True)
                )
                self.notes.append(
                    f"{layer or name}: product under {under} (no crop keeps it clear)"
                )
            if placement.moved:
                moved = (f"{name} {placement.box}", w, h)
                if moved not in self.fitted:
                    self.fitted[moved] = photos.cover(source, w, h, box=placement.box)[0]
                return self.fitted[moved]
        key = (name, w, h)
        if key not in self.fitted:
            parent = photos.parent_cut(source, (w, h), self.cuts.get(name, ()))
            if parent is None:
                self.fitted[key] = photos.cover(source, w, h)[0]
            else:
                (outer_w, outer_h), (left, top) = parent
                outer = self._cut(name, source, outer_w, outer_h)
                self.fitted[key] = outer.crop((left, top, left + w, top + h))
        return self.fitted[key]

    def _composite(self, image: Image.Image, offset: tuple[int, int], radius: float) -> None:
        """Blend an image in (RGBA: through its alpha), with its corners rounded when asked.
        `image` may be cached: it is never modified."""
        if radius:
            image = image.convert("RGBA")  # a copy, whatever the mode
            mask = _rounded_mask((image.width, image.height), round(radius * self.short))
            alpha = np.asarray(image.getchannel("A"), dtype=np.uint16) * np.asarray(mask) // 255
            image.putalpha(Image.fromarray(alpha.astype(np.uint8)))
        self._over(image, offset)

    def _ink(self, colour: str) -> tuple[int, ...]:
        """A palette colour in the canvas's mode: opaque on a plate."""
        rgb = self.brand.rgb(colour)
        return rgb if self.image.mode == "RGB" else (*rgb, 255)

    def _over(self, image: Image.Image, offset: tuple[int, int]) -> None:
        """Put an RGBA image over the canvas: pasted through its alpha onto the opaque card (no
        full-size RGBA canvas to composite and convert), composited "over" onto a plate."""
        if self.image.mode == "RGB":
            self.image.paste(image, offset, image)  # RGBA or premultiplied RGBa
        else:
            self.image.alpha_composite(image, offset)

    def _fill(self, colour: str, box: tuple[int, int, int, int], mask: Image.Image) -> None:
        """Put a colour over the canvas through `mask` at box = (left, top, right, bottom)."""
        rgb = self.brand.rgb(colour)
        if self.image.mode == "RGB":
            # as pasting the colour through the mask, in half the time (see text.draw_text)
            self.image.paste(Image.new("RGB", mask.size, rgb), box[:2], mask)
            return
        overlay = Image.new("RGBA", mask.size, (*rgb, 0))
        overlay.putalpha(mask)
        self.image.alpha_composite(overlay, box[:2])

    def _scrim(self, layer: ScrimLayer) -> None:
        x, y, w, h = self._px(layer)
        horizontal = layer.direction in ("right", "left")
        steps = w if horizontal else h
        ramp = np.linspace(layer.opacity_start, layer.opacity_end, max(steps, 1)) * 255
        if layer.direction in ("up", "left"):
            ramp = ramp[::-1]
        ramp = np.round(ramp).astype(np.uint8)
        alpha = np.tile(ramp, (h, 1)) if horizontal else np.tile(ramp[:, None], (1, w))
        self._fill(layer.color, (x, y, x + w, y + h), Image.fromarray(alpha))

    def _shape(self, layer: ShapeLayer) -> None:
        box = self._px(layer)
        if layer.shape == "ellipse":
            mask = _ellipse_mask((box[2], box[3]))
            self._fill_mask(box, layer.color, layer.opacity, mask)
        else:
            radius = layer.radius if layer.shape == "rounded" else 0
            self._rounded(box, layer.color, layer.opacity, radius)

    def _rounded(
        self, box: tuple[int, int, int, int], colour: str, opacity: float, radius: float
    ) -> None:
        _, _, w, h = box
        r = min(round(radius * self.short), w // 2, h // 2)
        mask = _rounded_mask((w, h), r) if r else Image.new("L", (w, h), 255)
        self._fill_mask(box, colour, opacity, mask)

    def _fill_mask(
        self, box: tuple[int, int, int, int], colour: str, opacity: float, mask: Image.Image
    ) -> None:
        x, y, w, h = box
        if opacity < 1:
            mask = mask.point(lambda v: round(v * opacity))
        # shapes may hang off the canvas (decorative halos): composite only the visible part
        left, top = max(x, 0), max(y, 0)
        right, bottom = min(x + w, self.image.width), min(y + h, self.image.height)
        if right <= left or bottom <= top:
            return
        if (left, top, right, bottom) != (x, y, x + w, y + h):
            mask = mask.crop((left - x, top - y, right - x, bottom - y))
        self._fill(colour, (left, top, right, bottom), mask)

    def _text(self, layer: TextLayer) -> None:
        with self.clock.phase("text"):
            self._fit_and_draw(layer)

    def _fitted_text(
        self, layer: TextLayer
    ) -> tuple[TextBlock, Any, tuple[int, int, int, int]] | None:
        """The layer's text fitted to its box (less a plate's padding): (block, font chain,
        box); None when there is no text. `fit_text` is cached, so drawing and `_extent` share
        one fit."""
        text = layer.text if layer.text is not None else self.data.text(layer.field or "")
        if not text:
            return None
        x, y, w, h = self._px(layer)
        chain = self.brand.fonts.chain(layer.font, layer.weight)
        max_size = max(1, round(layer.max_size * self.short))
        room_x = room_y = 0  # a plate's padding at the largest size the text may take
        if layer.plate is not None:
            room_x = round(layer.plate.pad_x * max_size)
            room_y = round(layer.plate.pad_y * max_size)
        block = fit_text(
            text,
            chain,
            max(1, w - 2 * room_x),
            max(1, h - 2 * room_y),
            min_size=max(1, round(layer.min_size * self.short)),
            max_size=max_size,
            max_lines=layer.max_lines,
            line_spacing=layer.line_spacing,
            uppercase=layer.uppercase,
        )
        return block, chain, (x, y, w, h)

    def _fit_and_draw(self, layer: TextLayer) -> None:
        fitted = self._fitted_text(layer)
        if fitted is None:
            return
        block, chain, (x, y, w, h) = fitted
        if block.truncated:
            self.notes.append(f"{layer.name}: text shortened to fit")
        if block.dropped:
            self.notes.append(f"{layer.name}: characters without a font dropped")
        if layer.plate is not None:
            self._plated(layer, layer.plate, block, chain, (x, y, w, h))
            return
        draw_text(
            self.image,
            block,
            chain,
            (x, y, w, h),
            fill=(*self.brand.rgb(layer.color), 255),
            align=layer.align,
            valign=layer.valign,
        )

    def _plated(
        self,
        layer: TextLayer,
        plate: Plate,
        block: TextBlock,
        chain: Any,
        box: tuple[int, int, int, int],
    ) -> None:
        """Text on a plate that hugs its ink: the plate is the ink's box plus the padding (in
        ems of the size the text got) on each side, placed in the layer's box by align and
        valign, and the ink is centred in it, so the padding is even left and right."""
        placed = self._plate_at(layer, plate, block, chain, box)
        if placed is None:
            return
        (left, top, width, height), mask = placed
        radius = round(plate.radius * height)
        shape = (
            _rounded_mask((width, height), radius)
            if radius
            else Image.new("L", (width, height), 255)
        )
        self._fill_mask((left, top, width, height), plate.color, 1.0, shape)
        ink_at = (left + (width - mask.width) // 2, top + (height - mask.height) // 2)
        self._fill(layer.color, (*ink_at, ink_at[0] + mask.width, ink_at[1] + mask.height), mask)

    def _plate_at(
        self,
        layer: TextLayer,
        plate: Plate,
        block: TextBlock,
        chain: Any,
        box: tuple[int, int, int, int],
    ) -> tuple[tuple[int, int, int, int], Image.Image] | None:
        """Where a text's plate goes, (x, y, w, h), and the text's ink cut to its box; None when
        the text has no ink."""
        mask = text_mask(block, chain, (block.width, block.height), align=layer.align)
        ink = mask.getbbox()
        if ink is None:
            return None
        mask = mask.crop(ink)
        x, y, w, h = box
        width = min(w, mask.width + 2 * round(plate.pad_x * block.size))
        height = min(h, mask.height + 2 * round(plate.pad_y * block.size))
        left = {"left": x, "center": x + (w - width) // 2, "right": x + w - width}[layer.align]
        top = {"top": y, "middle": y + (h - height) // 2, "bottom": y + h - height}[layer.valign]
        return (left, top, width, height), mask

    def _pill(
        self, label: str, height: int, size: int, layer: BadgeLayer | ChipsLayer, max_width: int
    ) -> tuple[Any, int] | None:
        """Lay out one rounded label: (text block, pill width), or None if it does not fit."""
        chain = self.brand.fonts.chain(layer.font, layer.weight)
        pad = round(height * 0.45)
        with self.clock.phase("text"):
            block = fit_text(
                label,
                chain,
                max(1, max_width - 2 * pad),
                height,
                min_size=max(1, round(size * 0.75)),
                max_size=size,
                max_lines=1,
                uppercase=isinstance(layer, BadgeLayer),
            )
        if not block.lines or block.truncated:
            return None
        return block, block.width + 2 * pad

    def _draw_pill(
        self,
        pill: tuple[Any, int],
        origin: tuple[int, int],
        height: int,
        layer: BadgeLayer | ChipsLayer,
        fill: str,
    ) -> None:
        block, width = pill
        if self.pills is None or self.image.mode != "RGB":
            self._pill_onto(block, width, origin, height, layer, fill)
            return
        key = (block, layer.font, layer.weight, layer.color, fill, width, height, self.short)
        image = self.pills.get(key)
        if image is None:
            if len(self.pills) >= _PILLS:  # a bound, should a vocabulary ever grow wild
                self.pills.clear()
            canvas, self.image = self.image, Image.new("RGBA", (width, height), (0, 0, 0, 0))
            try:
                self._pill_onto(block, width, (0, 0), height, layer, fill)
                # premultiplied: pasted over the card in half the time of straight RGBA
                image = self.pills[key] = self.image.convert("RGBa")
            finally:
                self.image = canvas
        self._over(image, origin)

    def _pill_onto(
        self,
        block: Any,
        width: int,
        origin: tuple[int, int],
        height: int,
        layer: BadgeLayer | ChipsLayer,
        fill: str,
    ) -> None:
        x, y = origin
        pad = (width - block.width) // 2
        self._rounded((x, y, width, height), fill, 1.0, 0.5)
        with self.clock.phase("text"):
            draw_text(
                self.image,
                block,
                self.brand.fonts.chain(layer.font, layer.weight),
                (x + pad, y, block.width, height),
                fill=(*self.brand.rgb(layer.color), 255),
                align="left",
                valign="middle",
            )

    def _badge_at(
        self, layer: BadgeLayer
    ) -> tuple[tuple[int, int, int, int], tuple[Any, int] | None] | None:
        """The badge's pill, ((x, y, w, h), pill) with pill None when the label does not fit;
        None when the member has no label."""
        if not self.data.actor_label:
            return None
        x, y, w, h = self._px(layer)
        pill = self._pill(self.data.actor_label, h, round(layer.size * self.short), layer, w)
        if pill is None:
            return (x, y, 0, h), None
        width = pill[1]
        left = {"left": x, "center": x + (w - width) // 2, "right": x + w - width}[layer.align]
        return (left, y, width, h), pill

    def _badge(self, layer: BadgeLayer) -> None:
        found = self._badge_at(layer)
        if found is None:
            return
        (left, y, _, h), pill = found
        if pill is None:
            self.notes.append(f"{layer.name}: label does not fit")
            return
        fill = layer.fill or f"badge_{self.data.actor_type}"
        if fill not in self.brand.palette:
            fill = "primary"
        self._draw_pill(pill, (left, y), h, layer, fill)

    def _chips_at(self, layer: ChipsLayer) -> tuple[int, list[tuple[Any, int]], int]:
        """The chips that fit on the layer's line: (left edge, pills, gap between them)."""
        x, _, w, h = self._px(layer)
        size = round(layer.size * self.short)
        gap = round(h * 0.25)
        pills: list[tuple[Any, int]] = []
        used = -gap
        for label in self.data.categories[: layer.max_items]:
            pill = self._pill(label, h, size, layer, w)
            if pill is None or used + gap + pill[1] > w:
                break
            pills.append(pill)
            used += gap + pill[1]
        left = {"left": x, "center": x + (w - used) // 2, "right": x + w - used}[layer.align]
        return left, pills, gap

    def _chips(self, layer: ChipsLayer) -> None:
        _, y, _, h = self._px(layer)
        left, pills, gap = self._chips_at(layer)
        for pill in pills:
            self._draw_pill(pill, (left, y), h, layer, layer.fill)
            left += pill[1] + gap


@dataclass(frozen=True)
class _Plate:
    """A run of member-independent layers, cut to the bands of rows it covers (each band to
    the columns it covers): the plate of a card is mostly transparent, and only what it covers
    is pasted. A band that is opaque throughout is kept as RGB and pasted without a mask; the
    others are kept premultiplied ("RGBa"), which Pillow pastes over RGB in less than half the
    time of straight RGBA (within one level of 255 of it)."""

    pieces: tuple[tuple[Image.Image, tuple[int, int]], ...]

    @classmethod
    def of(cls, image: Image.Image) -> _Plate:
        alpha = np.asarray(image.getchannel("A"))
        rows = np.flatnonzero(alpha.any(axis=1))
        if not rows.size:
            return cls(())
        gaps = np.flatnonzero(np.diff(rows) > 1)
        tops = [int(rows[0]), *(int(r) for r in rows[gaps + 1])]
        bottoms = [*(int(r) + 1 for r in rows[gaps]), int(rows[-1]) + 1]
        pieces = []
        for top, bottom in zip(tops, bottoms, strict=True):
            cols = np.flatnonzero(alpha[top:bottom].any(axis=0))
            left, right = int(cols[0]), int(cols[-1]) + 1
            piece = image.crop((left, top, right, bottom))
            opaque = bool((alpha[top:bottom, left:right] == 255).all())
            piece = piece.convert("RGB" if opaque else "RGBa")
            pieces.append((piece, (left, top)))
        return cls(tuple(pieces))

    def paste_onto(self, canvas: Image.Image) -> None:
        """Put the plate over an opaque RGB canvas."""
        for piece, offset in self.pieces:
            canvas.paste(piece, offset, None if piece.mode == "RGB" else piece)


def _static(layer: Any) -> bool:
    """True for a layer whose pixels do not depend on the member."""
    if layer.when != "always":
        return False
    if isinstance(layer, TextLayer):
        return layer.text is not None
    if isinstance(layer, ImageLayer):
        return layer.source.startswith("network_logo")
    if isinstance(layer, BackgroundLayer):
        return layer.fill.image is None
    return isinstance(layer, ScrimLayer | ShapeLayer)


def _blurred(
    source: photos.SourceImage, size: tuple[int, int], radius: float, darken: float
) -> Image.Image:
    """The photo covering `size`, blurred by `radius` pixels and darkened: a ground, not a
    picture, so it is cut from the centre at an eighth of the size, blurred and darkened there,
    and enlarged linearly (nothing sharp is left to lose). About 15 ms for 1080x1920 where a
    full-size cut, blur and blend take 70."""
    width, height = source.image.size
    small = (-(-size[0] // _BLUR_SCALE), -(-size[1] // _BLUR_SCALE))
    scale = min(width / small[0], height / small[1])
    cut_w, cut_h = small[0] * scale, small[1] * scale
    # clamped: the cut is the whole side on one axis, and float rounding may put its edge a
    # hair outside the image, which Pillow refuses ("box offset can't be negative")
    left, top = max(0.0, (width - cut_w) / 2), max(0.0, (height - cut_h) / 2)
    box = (left, top, min(float(width), left + cut_w), min(float(height), top + cut_h))
    image = source.image.convert("RGB") if source.image.mode != "RGB" else source.image
    image = image.resize(small, Image.Resampling.BILINEAR, box=box, reducing_gap=2.0)
    image = image.filter(ImageFilter.GaussianBlur(radius / _BLUR_SCALE))
    if darken:
        image = Image.blend(image, Image.new("RGB", small, 0), darken)
    enlarged = cv2.resize(np.asarray(image), size, interpolation=cv2.INTER_LINEAR)
    return Image.fromarray(enlarged)


@lru_cache(maxsize=64)
def _gradient(
    size: tuple[int, int], start: tuple[int, int, int], end: tuple[int, int, int], direction: str
) -> Image.Image:
    w, h = size
    if direction == "vertical":
        t = np.linspace(0, 1, h)[:, None] * np.ones((1, w))
    elif direction == "horizontal":
        t = np.ones((h, 1)) * np.linspace(0, 1, w)[None, :]
    else:
        t = (np.linspace(0, 1, h)[:, None] + np.linspace(0, 1, w)[None, :]) / 2
    a, b = np.array(start, float), np.array(end, float)
    pixels = np.round(a + (b - a) * t[..., None]).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


@lru_cache(maxsize=256)
def _rounded_mask(size: tuple[int, int], radius: int) -> Image.Image:
    """An antialiased rounded-rectangle mask (drawn large, then reduced)."""
    w, h = size
    big = Image.new("L", (w * _SUPERSAMPLE, h * _SUPERSAMPLE), 0)
    ImageDraw.Draw(big).rounded_rectangle(
        (0, 0, big.width - 1, big.height - 1), radius=radius * _SUPERSAMPLE, fill=255
    )
    return big.reduce(_SUPERSAMPLE)


@lru_cache(maxsize=64)
def _ellipse_mask(size: tuple[int, int]) -> Image.Image:
    w, h = size
    big = Image.new("L", (w * _SUPERSAMPLE, h * _SUPERSAMPLE), 0)
    ImageDraw.Draw(big).ellipse((0, 0, big.width - 1, big.height - 1), fill=255)
    return big.reduce(_SUPERSAMPLE)


def _encode(image: Image.Image, fmt: CardFormat, png: bool) -> bytes:
    """Baseline JPEG (sRGB, no metadata) at the format's quality, or PNG; deterministic."""
    buf = io.BytesIO()
    if png:
        image.save(buf, "PNG", optimize=False, compress_level=6)
        return buf.getvalue()
    quality = fmt.quality
    while True:
        buf = io.BytesIO()
        image.save(
            buf, "JPEG", quality=quality, optimize=True, progressive=False, subsampling="4:2:0"
        )
        if buf.tell() <= INSTAGRAM_MAX_BYTES or quality <= 60:
            return buf.getvalue()
        quality -= 5


def _read_notes(path: Path) -> list[str] | None:
    """The layer notes stored beside a cached card, or None when they are missing or unreadable
    (the card is then drawn again, which writes them)."""
    try:
        notes = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        return None
    return notes


def _write(path: Path, data: bytes) -> None:
    """Write atomically, readable as the umask allows (a web server may serve the card)."""
    write_atomically(path, data)
