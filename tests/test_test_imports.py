"""The tests' own layout: a test module imports helpers from tests/support and gets fixtures from
conftest.py files, never from another test module or a conftest. Importing a test module runs its
module-level code a second time and drags its fixtures in under the importer's name, so which
tests see which fixture would depend on who imported what."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
# a dotted name of a test module or a conftest under tests/, also inside strings (a child script)
DOTTED = re.compile(r"\btests(?:\.\w+)*\.(?:test_\w+|conftest)\b")


def _is_test_or_conftest(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last.startswith("test_") or last == "conftest"


def bad_imports(path: Path) -> list[str]:
    """Each import of a test module or a conftest in this file, as 'line: what'."""
    source = path.read_text(encoding="utf-8")
    found: list[str] = []
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            found += [
                f"{node.lineno}: import {a.name}"
                for a in node.names
                if _is_test_or_conftest(a.name)
            ]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names = [a.name for a in node.names]
            if (module and _is_test_or_conftest(module)) or (
                node.level and any(_is_test_or_conftest(n) for n in names)
            ):
                found.append(
                    f"{node.lineno}: from {'.' * node.level}{module} import {', '.join(names)}"
                )
    lines = {int(f.split(":")[0]) for f in found}
    for number, line in enumerate(source.splitlines(), 1):
        if number not in lines:  # e.g. a script run in a child process
            found += [f"{number}: {m.group(0)} (named in text)" for m in DOTTED.finditer(line)]
    return found


def checked_files() -> list[Path]:
    """Every test module, conftest and support module under tests/."""
    files = [
        *TESTS.rglob("test_*.py"),
        *TESTS.rglob("conftest.py"),
        *(TESTS / "support").rglob("*.py"),
    ]
    return sorted(p for p in files if "golden" not in p.relative_to(TESTS).parts)


def test_the_check_sees_the_whole_tree() -> None:
    files = {p.relative_to(TESTS).as_posix() for p in checked_files()}
    assert {"conftest.py", "test_test_imports.py", "support/publishing.py"} <= files
    assert any(f.startswith("publishing/test_") for f in files), sorted(files)[:10]


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("from {t}.publishing.test_publisher import World\n", 1),
        ("import {t}.conftest\n", 1),
        ("from {t}.conftest import point_cli_at\n", 1),
        ("from .test_errors import load\n", 1),
        ("from . import conftest\n", 1),
        ("def f():\n    from {t}.planner.test_plan import LIMITS\n", 1),
        ('SCRIPT = "from {t}.orchestration.test_worker_pool import _slow"\n', 1),
        ("from {t}.support.publishing import World\n", 0),
        ("from ifn_campaign.cli import test_mode\n", 0),
    ],
)
def test_the_check_finds_imports_of_test_modules(source: str, found: int, tmp_path: Path) -> None:
    path = tmp_path / "test_sample.py"
    path.write_text(source.format(t="tests"))  # {t}: this file must not name them itself
    assert len(bad_imports(path)) == found, bad_imports(path)


def test_no_test_module_imports_another_test_module_or_a_conftest() -> None:
    offenders = {
        p.relative_to(TESTS).as_posix(): bad for p in checked_files() if (bad := bad_imports(p))
    }
    assert not offenders, (
        "helpers shared between test modules belong in tests/support/, fixtures in a conftest.py "
        f"(pytest finds them there): {offenders}"
    )
