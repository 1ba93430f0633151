"""Secrets by name: the environment first (IFN_SECRET_<NAME>), then a Prefect Secret block.

Settings only ever hold a secret's name, so no file, log or database row holds its value; an error
names where to put the secret, never what it is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from ifn_campaign.errors import ConfigError


def env_name(name: str) -> str:
    """'ig-bpipi' -> 'IFN_SECRET_IG_BPIPI'."""
    return "IFN_SECRET_" + re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()


def secret(name: str, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    value = env.get(env_name(name))
    if value:
        return value
    try:
        from prefect.blocks.system import Secret

        return str(Secret.load(name).get())
    except Exception:  # Prefect raises ValueError, httpx errors, ...
        raise ConfigError(
            f"secret {name!r} not found: set {env_name(name)} or create the Prefect Secret "
            f"block {name!r}"
        ) from None
