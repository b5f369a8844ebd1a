"""Objectives from installed packages (entry-point group llmga.objectives) and from files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from llmga.objectives import file_objectives

PLUGIN = '''
import llmga


@llmga.objective(direction="minimize", description="heavy atoms, from a test plug-in")
def heavy_atoms(smiles):
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    return None if mol is None else mol.GetNumHeavyAtoms()


def ring_count(smiles):
    """rings, from a plain function"""
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    return None if mol is None else mol.GetRingInfo().NumRings()


def broken():
    raise RuntimeError("never imported")
'''


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    """A tiny package, really installed by pip into its own folder, that registers two objectives."""
    src = tmp_path_factory.mktemp("plugin-src")
    (src / "llmga_test_plugin").mkdir()
    (src / "llmga_test_plugin" / "__init__.py").write_text(PLUGIN)
    (src / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["setuptools>=69"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "llmga-test-plugin"
            version = "0.3"

            [project.entry-points."llmga.objectives"]
            heavy_atoms = "llmga_test_plugin:heavy_atoms"
            ring_count = "llmga_test_plugin:ring_count"
            not_there = "llmga_test_plugin_missing:nothing"
            """
        )
    )
    site = tmp_path_factory.mktemp("plugin-site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(site), str(src)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return site


def _run(site: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site), "COLUMNS": "300"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)


def test_an_installed_plugin_is_found_by_name_and_scores(plugin_site):
    proc = _run(
        plugin_site,
        "import json, llmga\n"
        "h = llmga.get_objective('heavy_atoms'); r = llmga.get_objective('ring_count')\n"
        "scores = h(['CCO', 'c1ccccc1', 'x']).tolist(), r(['c1ccccc1CC1CC1']).tolist()\n"
        "print(json.dumps([h.direction, h.name, *scores]))",
    )
    assert proc.returncode == 0, proc.stderr
    direction, name, heavy, rings = json.loads(proc.stdout.replace("NaN", "null"))
    assert direction == "minimize" and name == "heavy_atoms"
    assert heavy == [3.0, 6.0, None] and rings == [2.0]


def test_llmga_objectives_lists_plugins_with_their_package_and_a_broken_one_with_its_error(plugin_site):
    proc = _run(plugin_site, "import sys; from llmga.cli import main; sys.exit(main(['objectives']))")
    assert proc.returncode == 0, proc.stderr
    out = " ".join(proc.stdout.split())
    assert "heavy_atoms" in out and "heavy atoms, from a test plug-in" in out
    assert "plug-in: llmga-test-plugin 0.3" in out.replace("llmga_test_plugin", "llmga-test-plugin")
    assert "rings, from a plain function" in out
    assert "not_there" in out and "failed to load" in out
    assert "built-in" in out and "PMO" in out  # the rest is still listed


def test_a_broken_plugin_fails_with_a_message_naming_it(plugin_site):
    proc = _run(plugin_site, "import llmga\nllmga.get_objective('not_there')(['CCO'])")
    assert proc.returncode != 0
    assert "plug-in objective entry point 'not_there'" in proc.stderr and "failed to import" in proc.stderr


def test_a_files_objectives_are_listed_with_source_file(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(PLUGIN)
    found = file_objectives(path)
    assert set(found) == {f"{path}:heavy_atoms", f"{path}:ring_count", f"{path}:broken"}
    assert all(e.source == "file" for e in found.values())
    assert found[f"{path}:heavy_atoms"].direction == "minimize"
    assert found[f"{path}:ring_count"].description == "rings, from a plain function"
