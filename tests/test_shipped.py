"""Shipped scenarios and example reports are reached through the package, wherever it runs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import returnsim as rs
from returnsim.shipped import shipped_files

ROOT = Path(__file__).resolve().parents[1]


def test_every_file_of_the_scenarios_folder_is_shipped():
    on_disk = sorted(
        p.relative_to(ROOT / "scenarios").as_posix()
        for p in (ROOT / "scenarios").rglob("*")
        if p.is_file() and p.suffix in {".toml", ".txt", ".csv", ".md"}
    )
    assert shipped_files() == on_disk
    assert rs.shipped("seed_policies.toml").read_bytes() == (ROOT / "scenarios/seed_policies.toml").read_bytes()
    # The path as it reads in the repository works too.
    assert rs.shipped("scenarios/validation/mmc_desk.toml").name == "mmc_desk.toml"


@pytest.mark.parametrize("bad", ["nope.toml", "../pyproject.toml", "/etc/passwd"])
def test_a_file_not_shipped_is_named(bad):
    with pytest.raises((FileNotFoundError, ValueError), match="shipped|ships"):
        rs.shipped(bad)


def test_found_from_any_folder(tmp_path):
    code = "import returnsim as rs; print(rs.load_scenario(rs.shipped('seed_policies.toml')).name)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "Mid-size US seller"


def test_the_wheel_carries_the_shipped_files(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", str(ROOT), "-w", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("returnsim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in shipped_files():
        assert f"returnsim/_shipped/{rel}" in names
