"""The benchmark scripts still run against the current API.

They live outside the package and no other test imports them, so a refactor that moves or renames
what they use (issue 16 broke two) goes unnoticed until someone benchmarks. Each script's
`--help` runs in a subprocess from the repository root, as `make bench-*` runs it (its top-level
imports and argument parser), and every `from ifn_campaign|ifn_sandbox|flows ... import name` in
a script, those inside functions included (the campaign bench imports the stages lazily), must
name something that exists today.
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HELPERS = {"machine.py"}  # imported by the scripts, not run
SCRIPTS = sorted(p for p in (ROOT / "bench").glob("*.py") if p.name not in HELPERS)
CHECKED = [*SCRIPTS, ROOT / "bench" / "machine.py", ROOT / "docs" / "make_images.py"]
OURS = ("ifn_campaign", "ifn_sandbox", "flows")


def test_every_bench_script_is_checked() -> None:
    """The glob finds the scripts the Makefile runs, so a new one is checked without a list."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    named = {p.name for p in SCRIPTS}
    for name in named:
        assert f"bench/{name}" in makefile, f"{name} has no make target"
    assert {"sync_bench.py", "publish_bench.py", "shorts_bench.py"} <= named


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_bench_help_runs(script: Path) -> None:
    """`python bench/X.py --help` imports the script and builds its parser without error."""
    done = subprocess.run(
        [sys.executable, str(script.relative_to(ROOT)), "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("usage:"), done.stdout[:500]
    assert "--" in done.stdout  # each script takes options


# The smallest real runs that take seconds (about 4 s of CPU each): past imports, they catch a
# script whose work no longer fits the schema or the stages (the plan bench's cleanup broke on a
# new foreign key). The others take 20 s to minutes even at their smallest (a Prefect server,
# a made Short, card worker pools), so `--help` and the import check stand in for them.
SMALL_RUNS = {
    "insights_bench.py": [
        *("--posts", "30", "--accounts", "2", "--latency", "0.01", "--baseline-sample", "3")
    ],
    "notices_bench.py": ["--posts", "30"],
    "plan_bench.py": ["--sizes", "30"],
    "sync_bench.py": ["--sizes", "30", "--media-members", "5"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMALL_RUNS))
def test_bench_smallest_run(name: str) -> None:
    """The script's smallest real run ends with its table and its goal line."""
    done = subprocess.run(
        [sys.executable, f"bench/{name}", *SMALL_RUNS[name]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    row = re.compile(r"^\|.*\|\s+30\s+\|", re.M)  # a table row of the 30 members
    assert row.search(done.stdout), done.stdout[-2000:]
    assert "\ngoal: " in done.stdout, done.stdout[-2000:]


def _our_imports(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, module, name) of every import of our packages in `path`, at any depth; name is
    None for a plain `import module`."""
    found: list[tuple[int, str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in OURS:
                found += [(node.lineno, node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, alias.name, None)
                for alias in node.names
                if alias.name.split(".")[0] in OURS
            ]
    return found


def missing_imports(path: Path) -> list[str]:
    """'file:line: what is missing' for each import of our packages in `path` that fails."""
    missing = []
    for line, module, name in _our_imports(path):
        try:
            imported = importlib.import_module(module)
        except ImportError as exc:
            missing.append(f"{path.name}:{line}: import {module}: {exc}")
            continue
        if name is None or hasattr(imported, name):
            continue
        try:  # `from package import submodule`
            importlib.import_module(f"{module}.{name}")
        except ImportError:
            missing.append(f"{path.name}:{line}: {module} has no {name}")
    return missing


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_bench_imports_exist(path: Path) -> None:
    """Every name a benchmark imports from our packages is still there, including imports made
    inside functions that `--help` never reaches."""
    assert _our_imports(path) or path.parent.name == "docs" or path.name == "machine.py"
    missing = missing_imports(path)
    assert not missing, "\n".join(missing)


def test_import_check_sees_a_missing_name(tmp_path: Path) -> None:
    """The check fails on the two imports that broke the publish and Shorts benches, also
    inside a function, and passes the names that exist."""
    script = tmp_path / "old_bench.py"
    script.write_text(
        "import ifn_campaign.wiring\n"
        "def main():\n"
        "    from ifn_campaign.publishing.publisher import Clients, Publisher\n"
        "    from ifn_campaign import shorts, wiring\n",
        encoding="utf-8",
    )
    assert missing_imports(script) == [
        "old_bench.py:3: ifn_campaign.publishing.publisher has no Clients",
        "old_bench.py:4: ifn_campaign has no shorts",
    ]
