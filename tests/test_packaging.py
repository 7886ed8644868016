"""The package as a wheel (not only editable) ships its cards and presets; what its tests import is declared."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_cards_and_presets_and_finds_them(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path / "dist")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("evalkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for card in ("aime24", "aime25", "amc23", "math500"):
        assert f"evalkit/_cards/{card}.toml" in names
    assert "evalkit/data/presets.toml" in names
    assert not any(name.startswith(("tests/", "bench/")) for name in names)

    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    probe = (
        "import evalkit.data.datasets as d, evalkit.data.presets as p; "
        "print(d.cards_dir()); print(','.join(d.card_names())); print(len(p.load_presets()))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                            env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    cards_dir, names_line, presets = result.stdout.split()
    assert cards_dir == str(target / "evalkit" / "_cards")
    assert names_line == "aime24,aime25,amc23,math500" and int(presets) > 20


def _distribution(requirement: str) -> str:
    name = re.match(r"\s*([A-Za-z0-9._-]+)", requirement).group(1)
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_package_the_tests_import_is_declared_where_ci_installs_it():
    """`.ci/run` installs the extras `make install-cpu` names in a fresh environment: a package a test imports that
    only arrives as some other package's dependency (httpx, which the openai SDK stopped depending on for httpx2)
    breaks a clean install. Imports inside a test that first calls `pytest.importorskip` are that test's own
    optional needs (verl's reward managers, which do not install beside the pinned transformers)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    install = re.search(r"pip install -e '\.\[([a-z,-]+)\]'", (ROOT / "Makefile").read_text())
    assert install is not None, "the Makefile's install line names no extras"
    extras = install.group(1).split(",")
    assert {"cpu", "test"} <= set(extras)
    declared = {_distribution(r) for r in project["dependencies"]}
    declared |= {_distribution(r) for extra in extras for r in project["optional-dependencies"][extra]}
    local = {p.stem for folder in ("tests", "bench") for p in (ROOT / folder).glob("*.py")}
    providers = importlib.metadata.packages_distributions()
    missing = {}
    for path in sorted((ROOT / "tests").glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        optional = {
            id(inner)
            for function in ast.walk(tree)
            if isinstance(function, ast.FunctionDef) and "importorskip" in ast.unparse(function)
            for inner in ast.walk(function)
        }
        for node in ast.walk(tree):
            if id(node) in optional:
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in local or top in ("evalkit", "__future__"):
                    continue
                installed = {_distribution(d) for d in providers.get(top, [top])}
                if not installed & declared:
                    missing.setdefault(top, set()).add(path.name)
    assert missing == {}, f"imported by tests but declared in no extra CI installs: {missing}"
