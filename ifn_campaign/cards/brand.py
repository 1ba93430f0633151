"""The brand kit: palette, gradients, fonts and the network logo, read once from assets/brand/."""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from ifn_campaign import bundled
from ifn_campaign.cards.fonts import FontBook
from ifn_campaign.cards.photo import SourceImage, contain, load_image
from ifn_campaign.errors import BrandError

BRAND_DIR = bundled.assets("brand")
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
RGB = tuple[int, int, int]
NETWORK_NAME = "Indonesia Footwear Network"


def hex_rgb(value: str) -> RGB:
    return (int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16))


@dataclass(frozen=True)
class BrandKit:
    """Colours by name, gradients by name, the font book and the logos; `fingerprint` changes
    whenever anything that can change a card's pixels changes (it keys the card cache)."""

    directory: Path
    palette: dict[str, str]
    gradients: dict[str, tuple[str, str]]
    fonts: FontBook
    fingerprint: str
    _images: dict[str, SourceImage] = field(default_factory=dict, compare=False, repr=False)
    _fitted: dict[tuple[str, int, int], Image.Image] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def load(cls, directory: Path = BRAND_DIR) -> BrandKit:
        palette_file = directory / "palette.toml"
        try:
            data = tomllib.loads(palette_file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise BrandError(f"brand palette {palette_file}: {exc}") from None
        gradients_raw = data.pop("gradients", {})
        palette = {k: v for k, v in data.items() if isinstance(v, str)}
        for name, value in palette.items():
            if not _HEX.match(value):
                raise BrandError(f"brand palette {palette_file}: {name} = {value!r} is not #RRGGBB")
        gradients: dict[str, tuple[str, str]] = {}
        for name, stops in gradients_raw.items():
            if not (
                isinstance(stops, list) and len(stops) == 2 and all(s in palette for s in stops)
            ):
                raise BrandError(
                    f"brand palette {palette_file}: gradient {name} must be two palette names"
                )
            gradients[name] = (stops[0], stops[1])
        fonts = FontBook.load(directory / "fonts.toml")
        digest = hashlib.sha256()
        for path in sorted(directory.rglob("*")):
            if path.is_file() and path.suffix in {".toml", ".png"}:
                digest.update(path.name.encode() + path.read_bytes())
        digest.update(fonts.fingerprint().encode())
        return cls(directory, palette, gradients, fonts, digest.hexdigest())

    def rgb(self, colour: str) -> RGB:
        """A palette name or #RRGGBB as an RGB triple."""
        value = self.palette.get(colour, colour)
        if not _HEX.match(value):
            raise BrandError(f"colour {colour!r} is neither #RRGGBB nor in the brand palette")
        return hex_rgb(value)

    def source(self, name: str) -> SourceImage:
        """network_logo or network_logo_on_dark, loaded once and cut to its mark: the file's
        clear margins would only shrink the logo in its box (the template sets the spacing)."""
        if name not in self._images:
            filename = "network-logo.png" if name == "network_logo" else "network-logo-on-dark.png"
            image = load_image(self.directory / filename)
            box = image.image.getchannel("A").getbbox() if image.has_alpha else None
            if box is not None and box != (0, 0, image.width, image.height):
                image = SourceImage(image.image.crop(box), True, image.original_size)
            self._images[name] = image
        return self._images[name]

    def contained(self, name: str, width: int, height: int) -> Image.Image:
        """A brand image fitted into a box: the same on every card, so made once per size."""
        key = (name, width, height)
        if key not in self._fitted:
            self._fitted[key] = contain(self.source(name), width, height)[0].convert("RGBA")
        return self._fitted[key]
