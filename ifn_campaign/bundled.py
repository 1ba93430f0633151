"""Where the shipped templates and assets are: the one lookup every module uses to find them.

The repository keeps them at its top (`templates/`, `assets/`) as the sources; a wheel build maps
the ones production needs into the package (`ifn_campaign/_bundled/templates`,
`ifn_campaign/_bundled/assets`: pyproject.toml and hatch_build.py), so an install outside the
checkout finds them through `importlib.resources`. An editable install or the source tree has no
`_bundled`: there they are read from the checkout.

A user's own templates live outside the install, in the folder the settings name
(`templates.dir`), with the shipped layout: `cards/`, `captions/`, `report/`, `preview/`,
`shorts/`, `campaigns/`. They override the shipped ones file by file: a file there is used
instead of the shipped file of the same relative path, and every other file stays the shipped one
(so one caption template can be restyled and the rest kept). `template_file`, `template_files`
and `template_dirs` make that choice; the callers pass the settings' folder in.

The sandbox distribution (`ifn_sandbox`) ships its own data the same way, through `shipped`.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = [
    "BUNDLED",
    "assets",
    "shipped",
    "template_dirs",
    "template_file",
    "template_files",
    "templates",
]

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


def template_file(*parts: str, user: Path | None = None) -> Path:
    """One template file: the user's (`<user>/<parts>`) when it exists, else the shipped one."""
    if user is not None:
        own = user.joinpath(*parts)
        if own.is_file():
            return own
    return templates(*parts)


def template_dirs(folder: str, user: Path | None = None) -> list[Path]:
    """The search path for `folder` (a Jinja loader's): the user's `<user>/<folder>` first when
    it exists, then the shipped one; a name found in both is the user's."""
    own = [user / folder] if user is not None and (user / folder).is_dir() else []
    return [*own, templates(folder)]


def template_files(folder: str, pattern: str, user: Path | None = None) -> dict[str, Path]:
    """Every file matching `pattern` directly in `folder`, by file name: the shipped ones with
    the user's added or put in their place, sorted by name."""
    found: dict[str, Path] = {}
    for directory in reversed(template_dirs(folder, user)):
        found.update((path.name, path) for path in directory.glob(pattern) if path.is_file())
    return dict(sorted(found.items()))


def assets(*parts: str) -> Path:
    """A path under the shipped assets (`assets("brand", "fonts.toml")`, `assets("fonts")`)."""
    return shipped("ifn_campaign", "assets", checkout_levels=1).joinpath(*parts)
