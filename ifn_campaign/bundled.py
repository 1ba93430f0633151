"""Where the shipped templates and assets are: the one lookup every module uses to find them.

The repository keeps them at its top (`templates/`, `assets/`) as the sources; a wheel build maps
the ones production needs into the package (`ifn_campaign/_bundled/templates`,
`ifn_campaign/_bundled/assets`: pyproject.toml and hatch_build.py), so an install outside the
checkout finds them through `importlib.resources`. An editable install or the source tree has no
`_bundled`: there they are read from the checkout. What a user keeps elsewhere is a setting that
overrides these (`planner.campaigns_dir` for campaigns); the functions that read templates take
the directory as an argument, these paths being only their defaults.

The sandbox distribution (`ifn_sandbox`) ships its own data the same way, through `shipped`.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["BUNDLED", "assets", "shipped", "templates"]

BUNDLED = "_bundled"  # the folder inside a package that a wheel build maps the data into


def shipped(package: str, folder: str, *, checkout_levels: int) -> Path:
    """`folder` ("templates", "assets") as shipped with `package`: `<package>/_bundled/<folder>`
    in a wheel install, else `<folder>` in the checkout, `checkout_levels` directories above
    the package's own (1 for `ifn_campaign/`, 2 for `sandbox/ifn_sandbox/`).

    A real directory either way, because fonts, Jinja loaders and video encoders need paths;
    a package imported from a zip file has none, so it fails here, saying so."""
    root = files(package)
    if not isinstance(root, Path):
        raise FileNotFoundError(
            f"{package} is imported from {root}, not from files on disk: install it as a wheel "
            "(pip install), so its templates and assets are files"
        )
    inside = root / BUNDLED / folder
    if inside.is_dir():
        return inside
    checkout = root.parents[checkout_levels - 1] / folder
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"{package}'s {folder} are missing: neither {inside} (a wheel install) nor {checkout} "
        "(a checkout) exists; reinstall the package"
    )


def templates(*parts: str) -> Path:
    """A path under the shipped templates (`templates("cards")`, `templates("captions", ...)`)."""
    return shipped("ifn_campaign", "templates", checkout_levels=1).joinpath(*parts)


def assets(*parts: str) -> Path:
    """A path under the shipped assets (`assets("brand", "fonts.toml")`, `assets("fonts")`)."""
    return shipped("ifn_campaign", "assets", checkout_levels=1).joinpath(*parts)
