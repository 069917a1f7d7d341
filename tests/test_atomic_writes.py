"""Issue 22, item 4: outputs are whole or absent. A write that fails half-way (a full disk)
leaves the previous file or none, never a file cut at 8,192 bytes, and the command says where
the results are kept."""

from __future__ import annotations

import errno
from pathlib import Path

import pandas as pd
import pytest
from conftest import minimal_raw

import returnsim as rs
from returnsim.cli import main
from returnsim.files import write_atomically


def _disk_full_after(nbytes: int):
    """A DataFrame.to_csv that writes ``nbytes`` of the frame, then fails as a full disk does."""

    def to_csv(self: pd.DataFrame, path, *args, **kwargs):
        Path(path).write_text(self.to_string()[:nbytes] if len(self) else "x" * nbytes, encoding="utf-8")
        raise OSError(errno.ENOSPC, "No space left on device")

    return to_csv


def test_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path: Path):
    path = tmp_path / "runs.csv"
    path.write_text("previous, whole\n", encoding="utf-8")

    def cut(p: Path) -> None:
        p.write_bytes(b"x" * 8192)
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_atomically(path, cut)
    assert path.read_text(encoding="utf-8") == "previous, whole\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.csv"]


@pytest.fixture(scope="module")
def experiment() -> rs.ExperimentResult:
    return rs.run_experiment(rs.parse_scenario(minimal_raw()), replications=2, progress=False, workers=1)


def test_to_csv_full_disk_leaves_old_files_or_none(tmp_path: Path, experiment, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "runs.csv").write_text("old runs\n", encoding="utf-8")
    monkeypatch.setattr(pd.DataFrame, "to_csv", _disk_full_after(8192))
    with pytest.raises(OSError):
        experiment.to_csv(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.csv"]
    assert (tmp_path / "runs.csv").read_text(encoding="utf-8") == "old runs\n"


def test_cli_full_disk_says_where_the_results_are(tmp_path: Path, monkeypatch, capsys):
    scenario = tmp_path / "s.toml"
    import tomlkit

    scenario.write_text(tomlkit.dumps(minimal_raw()), encoding="utf-8")
    out = tmp_path / "out"
    monkeypatch.setattr(pd.DataFrame, "to_csv", _disk_full_after(8192))
    code = main(["run", str(scenario), "--replications", "2", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "could not write the output" in err and "No space left" in err, err
    assert "saved in" in err and "--store" in err, err
    assert not any(out.glob("*.csv")) and not any(out.glob(".*.part")), list(out.iterdir())
