"""Only the settings and the secret lookup read the process's environment: every other module of
ifn_campaign is handed what it needs (settings, a `Secrets` lookup, an environment mapping), so
what a run does is decided by what it was given. The sandbox distribution (sandbox/) is exempt."""

from __future__ import annotations

import ast
from pathlib import Path

import ifn_campaign

PACKAGE = Path(ifn_campaign.__file__).parent
ALLOWED = {"config.py", "secrets.py"}  # relative to the package
_OS_NAMES = {"environ", "environb", "getenv", "getenvb"}


def environment_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) for every `os.environ` / `os.getenv` (any alias of os) and every name
    imported from os that reads the environment (`from os import environ`)."""
    os_aliases = {"os"}
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            os_aliases |= {a.asname or a.name for a in node.names if a.name == "os"}
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [
                (node.lineno, f"from os import {a.name}") for a in node.names if a.name in _OS_NAMES
            ]
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in _OS_NAMES
            and isinstance(node.value, ast.Name)
            and node.value.id in os_aliases
        ):
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return sorted(found)


def test_no_module_but_the_settings_and_the_secrets_reads_the_environment() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in ALLOWED:
            continue
        for line, what in environment_reads(ast.parse(path.read_text(encoding="utf-8"))):
            offenders.append(f"ifn_campaign/{relative}:{line}: {what}")
    assert offenders == [], "read the environment only in config.py or secrets.py:\n" + "\n".join(
        offenders
    )


def test_the_check_finds_every_spelling() -> None:
    source = """
import os
import os as system
from os import environ, getenv, path
a = os.environ["X"]
b = system.getenv("Y")
c = os.path.join("a", "b")
"""
    found = [what for _, what in environment_reads(ast.parse(source))]
    assert found == [
        "from os import environ",
        "from os import getenv",
        "os.environ",
        "system.getenv",
    ]
    assert environment_reads(ast.parse((PACKAGE / "secrets.py").read_text())) != []
