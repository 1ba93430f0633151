"""The product installs like a real package: its wheel carries the templates and assets it reads
(and nothing of the sandboxes or the tests), the sandboxes are a separate wheel, and no product
module needs them. `.ci/wheel-demo` installs both wheels outside the checkout and runs the demo."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ifn_campaign import bundled
from ifn_sandbox import bundled as sandbox_bundled

ROOT = Path(__file__).resolve().parents[1]
BLOCK_SANDBOX = "import sys; sys.modules['ifn_sandbox'] = None\n"  # `import ifn_sandbox` fails


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter, without the caller's IFN_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IFN_")}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def _files(root: Path) -> set[str]:
    """Every file under `root`, relative to it, as a wheel names them."""
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def _tracked(*paths: str) -> set[str]:
    """The files git tracks under `paths` (what a fresh clone builds from)."""
    listed = subprocess.run(
        ["git", "ls-files", "--", *paths], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(listed.stdout.split())


@pytest.mark.slow
def test_no_product_module_needs_the_sandboxes(tmp_path: Path) -> None:
    """Every module of ifn_campaign and flows imports with ifn_sandbox unimportable: a production
    install (no ifn-campaign-sandbox) can load all of them."""
    code = BLOCK_SANDBOX + (
        "import importlib, pkgutil, ifn_campaign, flows\n"
        "names = [m.name for p in (ifn_campaign, flows)\n"
        "         for m in pkgutil.walk_packages(p.__path__, p.__name__ + '.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "assert sys.modules['ifn_sandbox'] is None\n"
        "print(len(names))\n"
    )
    result = _run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    modules = list(ROOT.glob("ifn_campaign/**/*.py")) + list(ROOT.glob("flows/*.py"))
    inits = [p for p in modules if p.name == "__init__.py"]
    # every module but the package roots themselves (and migrations, which alembic runs as scripts)
    expected = len(modules) - len(inits) + (len(inits) - 2)
    expected -= len(list(ROOT.glob("ifn_campaign/migrations/**/*.py")))
    assert int(result.stdout) == expected


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [["demo"], ["sandbox", "registry"], ["captions", "lint"]],
    ids=["demo", "sandbox registry", "captions lint"],
)
def test_a_command_that_needs_the_sandboxes_says_what_to_install(
    args: list[str], tmp_path: Path
) -> None:
    """Without ifn-campaign-sandbox, the commands that run against it fail with one line naming
    the distribution and how to install it from a checkout, never a traceback."""
    code = BLOCK_SANDBOX + (f"from ifn_campaign.cli.app import main\nsys.exit(main({args!r}))\n")
    result = _run(code, tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    command = " ".join(["ifn-campaign", *args])
    assert lines[0] == (
        f"error: {command} needs the sandboxes, which are not installed: install "
        "ifn-campaign-sandbox (from a checkout: pip install ./sandbox)"
    )
    assert result.stdout == ""
    assert not (tmp_path / "var").exists()  # nothing was started or written


def test_the_lookup_prefers_the_wheels_copy_then_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`shipped` finds `<package>/_bundled/<folder>` first (a wheel install), else the checkout's
    folder the given levels above the package, else says the install is broken."""
    checkout = tmp_path / "checkout"
    package = checkout / "sub" / "h1_shipped_probe"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    monkeypatch.syspath_prepend(str(package.parent))
    importlib.invalidate_caches()

    with pytest.raises(FileNotFoundError, match="reinstall the package"):
        bundled.shipped("h1_shipped_probe", "templates", checkout_levels=2)
    (checkout / "templates").mkdir()
    found = bundled.shipped("h1_shipped_probe", "templates", checkout_levels=2)
    assert found == checkout / "templates"
    (package / "_bundled" / "templates").mkdir(parents=True)
    found = bundled.shipped("h1_shipped_probe", "templates", checkout_levels=2)
    assert found == package / "_bundled" / "templates"


def test_an_editable_install_reads_the_checkout_and_holds_no_copies() -> None:
    """This environment's editable installs: templates and assets come from the repository, and
    the build hook put no stale copies of them beside it (hatch_build.py, editable wheels)."""
    assert bundled.templates() == ROOT / "templates"
    assert bundled.assets("brand", "fonts.toml") == ROOT / "assets" / "brand" / "fonts.toml"
    assert sandbox_bundled.assets("sample_registry") == ROOT / "assets" / "sample_registry"
    for distribution in ("ifn-campaign", "ifn-campaign-sandbox"):
        installed = [str(f) for f in importlib.metadata.files(distribution) or []]
        assert installed, distribution
        assert not [f for f in installed if "_bundled" in f], distribution


@pytest.mark.slow
def test_the_wheels_hold_what_each_distribution_reads(tmp_path: Path) -> None:
    """The product wheel: its packages (the console's compiled messages too), the templates, the
    brand, fonts, the console's styles and scripts, vocabulary and example settings; no tests,
    no sandboxes, no sample registry. The sandbox wheel: ifn_sandbox with the sample registry
    and the demo's campaign. Built as CI builds them, without the network (the build backend is
    in the dev extra)."""
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"),
            *("--wheel-dir", str(tmp_path), str(ROOT), str(ROOT / "sandbox")),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (product,) = tmp_path.glob("ifn_campaign-*.whl")
    (sandbox,) = tmp_path.glob("ifn_campaign_sandbox-*.whl")
    product_names = set(zipfile.ZipFile(product).namelist())
    sandbox_names = set(zipfile.ZipFile(sandbox).namelist())

    shipped = {
        f"ifn_campaign/_bundled/{folder}/{name}"
        for folder in (
            "templates",
            "assets/brand",
            "assets/fonts",
            "assets/console",
            "assets/showcase",
        )
        for name in _files(ROOT / folder)
    } | {
        "ifn_campaign/_bundled/assets/vocabulary.toml",
        "ifn_campaign/_bundled/assets/ifn-campaign.example.toml",
    }
    code = {n for n in _tracked("ifn_campaign", "flows") if "__pycache__" not in n}
    assert "ifn_campaign/console/locale/id/LC_MESSAGES/console.mo" in code
    assert shipped <= product_names
    assert code <= product_names
    dist_info = {n for n in product_names if n.startswith("ifn_campaign-")}
    assert {n.rsplit("/", 1)[1] for n in dist_info} >= {"METADATA", "RECORD", "entry_points.txt"}
    others = product_names - dist_info - shipped
    assert all(n.startswith(("ifn_campaign/", "flows/")) for n in others), sorted(others)
    assert not [n for n in others if n.startswith("ifn_campaign/_bundled/")]
    for absent in ("tests/", "ifn_sandbox", "sample_registry", "assets/demo", "bench/", "docs/"):
        assert not [n for n in product_names if absent in n], absent

    sample = {
        f"ifn_sandbox/_bundled/assets/{folder}/{name}"
        for folder in ("sample_registry", "demo")
        for name in _files(ROOT / "assets" / folder)
    }
    sandbox_code = {n.removeprefix("sandbox/") for n in _tracked("sandbox/ifn_sandbox")}
    assert sample <= sandbox_names
    assert sandbox_code <= sandbox_names
    assert all(n.startswith(("ifn_sandbox/", "ifn_campaign_sandbox-")) for n in sandbox_names), (
        sorted(sandbox_names)
    )
