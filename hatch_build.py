"""The wheels' build hook: copy the repository's templates and assets into the package.

pyproject.toml (and sandbox/pyproject.toml) list what goes where under `bundle`, a map from a
path relative to the project to a path inside the wheel. A plain `force-include` would copy them
into editable installs too, where they would be stale copies shadowed by the checkout; an
editable install reads them from the checkout instead (ifn_campaign.bundled), so they are added
to standard wheels only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class BundleHook(BuildHookInterface):  # type: ignore[type-arg]
    """Adds `bundle`'s sources to a standard wheel at their paths in the package."""

    PLUGIN_NAME = "bundle"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Map every source of `bundle` into the wheel; an editable wheel gets none."""
        if version == "editable":
            return
        bundle = self.config.get("bundle")
        if not isinstance(bundle, dict) or not bundle:
            raise ValueError("the bundle hook needs `bundle`: a table of source = path in wheel")
        for source, target in bundle.items():
            path = (Path(self.root) / source).resolve()
            if not path.exists():
                raise FileNotFoundError(
                    f"bundle: {source} ({path}) does not exist: build the wheel from a checkout"
                )
            build_data["force_include"][str(path)] = target
