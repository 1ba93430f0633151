"""Pointing the CLI at a sandbox from a test: the CLI reads its settings from IFN_* only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ifn_sandbox.registry import RegistrySandbox


def point_cli_at(sandbox: RegistrySandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run the CLI in tmp_path against this sandbox, with no IFN_ setting leaking in."""
    for key in list(os.environ):
        if key.startswith("IFN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IFN_DATABASE__URL", f"sqlite:///{tmp_path / 'ifn.db'}")
    monkeypatch.setenv("IFN_REGISTRY__BASE_URL", sandbox.url)
    monkeypatch.setenv("IFN_MEDIA__DIR", str(tmp_path / "media"))
    monkeypatch.setenv("IFN_MEDIA__ALLOW_HOSTS", f'["{sandbox.url.removeprefix("http://")}"]')
    monkeypatch.setenv("IFN_CARDS__CACHE_DIR", str(tmp_path / "cards"))
