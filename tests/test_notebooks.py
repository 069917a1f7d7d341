"""Notebooks run top to bottom, and every figure function draws what it promises.

The notebooks are executed with nbclient on a kernel started from *this* interpreter
(``sys.executable -m ipykernel_launcher``), never from whatever ``python3`` kernelspec happens
to be installed for the user, so ``.venv/bin/python -m pytest`` tests the notebooks against the
venv's returnsim. ``RETURNSIM_SMALL=1`` makes them use a short horizon.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

import returnsim as rs  # noqa: E402
from returnsim import plots  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED_SCENARIO = ROOT / "scenarios" / "seed_policies.toml"
NB = ROOT / "notebooks"
NOTEBOOKS = sorted(NB.glob("*.ipynb")) + sorted((NB / "teaching").glob("*.ipynb")) + sorted((NB / "instructor").glob("*.ipynb"))
TEACHING = sorted((NB / "instructor").glob("*.ipynb")) + [NB / "teaching" / "00_lab.ipynb"]
"""Notebooks that teach one idea: learning objectives first, figures drawn by returnsim.plots."""
CELL_TIMEOUT = 600  # seconds per cell; with RETURNSIM_SMALL=1 the whole notebook takes seconds


# --------------------------------------------------------------------------------------------
# notebooks


def _this_python_kernel():
    """A KernelManager whose kernel is ``sys.executable -m ipykernel_launcher``."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec = KernelSpec(
        argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        display_name="Python 3 (this interpreter)",
        language="python",
        name="python3",
    )

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:  # noqa: ARG002
            return spec

    return KernelManager(kernel_name="python3", kernel_spec_manager=ThisPython())


def test_notebooks_exist():
    assert NOTEBOOKS, "no notebooks in notebooks/"


def _id(p: Path) -> str:
    return str(p.relative_to(NB))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[_id(p) for p in NOTEBOOKS])
def test_notebook_committed_without_outputs(path: Path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"cell {i} of {path.name} has outputs: clear them before committing"
            assert cell.execution_count is None, f"cell {i} of {path.name} has an execution count"


OUTSIDE = {"03_your_store.ipynb", "04_research_study.ipynb"}
"""Notebooks a user copies out of the repository to start from: they run from a copy elsewhere
(which also proves they run at all, so they are not run a second time from notebooks/)."""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[_id(p) for p in NOTEBOOKS])
def test_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    import nbclient
    import nbformat

    if path.parent == NB and path.name in OUTSIDE:
        copy = tmp_path / "elsewhere" / path.name
        copy.parent.mkdir()
        copy.write_bytes(path.read_bytes())
        assert ROOT not in copy.resolve().parents
        monkeypatch.chdir(tmp_path)
        path = copy

    # The kernel inherits this environment: a small run, and the notebook's own (inline)
    # matplotlib backend rather than one forced by the caller's MPLBACKEND. The instructor's
    # copies must pass their own exercise checks (a wrong solution raises).
    monkeypatch.setenv("RETURNSIM_SMALL", "1")
    monkeypatch.setenv("RETURNSIM_EXPECT_SOLUTIONS", "1" if path.parent.name == "instructor" else "0")
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(path, as_version=4)
    n_cells = len(nb.cells)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import sys, os\nprint(sys.executable)\nprint(os.environ.get('RETURNSIM_SMALL'))\nprint(os.getcwd())"))
    client = nbclient.NotebookClient(
        nb,
        km=_this_python_kernel(),
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(path.parent)}},
    )
    log = tmp_path / "expected.jsonl"
    monkeypatch.setenv("RETURNSIM_CHECK_LOG", str(log))
    client.execute()  # raises CellExecutionError on the first failing cell
    if path.parent.name == "teaching" and path.name != "00_lab.ipynb":
        _assert_prints_no_expected_value(nb, log)

    errors = [
        (i, out.get("ename"), out.get("evalue"))
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors, errors
    pngs = [
        i
        for i, cell in enumerate(nb.cells[:n_cells])
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    ]
    assert pngs, f"{path.name} produced no image/png output"
    probe = "".join(out.get("text", "") for out in nb.cells[-1].outputs).split()
    assert Path(probe[0]).resolve() == Path(sys.executable).resolve(), probe
    assert probe[1] == "1", "the kernel did not see RETURNSIM_SMALL=1"
    assert Path(probe[2]).resolve() == path.parent.resolve()  # a copy outside runs where it sits


LAB = NB / "teaching" / "00_lab.ipynb"
LAB_PROBE = """
import json
import ipywidgets as W
sliders = {n: c.continuous_update for n, c in controls.items() if isinstance(c, (W.IntSlider, W.FloatSlider))}
first = answered["count"]
for v in (10, 20, 30):
    controls["give_away_below"].value = v      # three settled values
settled = answered["count"] - first
controls["give_away_below"].value = 30         # the same value again
repeated = answered["count"] - first - settled
fig, lines, took = lab_answer(staff=1, hours="weekdays 9-17")
plt.close(fig)
result = lab_run(staff=1, hours="weekdays 9-17")
warned = [str(w) for ws in answer(result, baseline="seed").warnings.values() for w in ws]
print("PROBE" + json.dumps({"sliders": sliders, "settled": settled, "repeated": repeated, "lines": lines,
                            "warned": warned, "image": len(panel.value), "shown": lines_box.value}))
"""


def _run(nb, path: Path, cwd: Path, timeout: int) -> None:
    import nbclient

    nbclient.NotebookClient(nb, km=_this_python_kernel(), timeout=timeout,
                            resources={"metadata": {"path": str(cwd)}}).execute()


def test_lab_runs_in_batch_at_full_size(monkeypatch: pytest.MonkeyPatch):
    """The lab at full size under nbclient, as `jupyter execute` runs it: the widget cell must not
    wait on a browser. The cell timeout is a guard that turns a hang into a failure (the lab's
    speed is measured by benchmarks/bench_notebooks.py, not asserted here)."""
    import json

    import nbformat

    monkeypatch.setenv("RETURNSIM_SMALL", "0")
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(LAB, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(LAB_PROBE))
    _run(nb, LAB, LAB.parent, timeout=120)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    probe = json.loads(text[text.index("PROBE") + 5:])
    # Sliders answer on release, and each settled value runs exactly one simulation.
    assert probe["sliders"] and not any(probe["sliders"].values()), probe["sliders"]
    assert probe["settled"] == 3 and probe["repeated"] == 0
    assert probe["image"] > 1000 and "answered in" in probe["shown"]
    # Every account-health warning (of seed and of the lab policy) is among the lines shown, and
    # the time the answer took is shown with it.
    assert probe["warned"], "this lever setting should break a target (RDR of one weekday agent)"
    for w in probe["warned"]:
        assert f"  ! {w}" in probe["lines"], w
    assert probe["lines"][-1].startswith("(answered in ")
    # The cell without widgets answers in the notebook too.
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs)


def test_notebooks_find_shipped_files_through_the_package():
    """No notebook reaches for files relative to where it sits in the repository."""
    for path in NOTEBOOKS:
        code = "\n".join(c.source for c in _cells(path) if c.cell_type == "code")
        for bad in ("../", "find_root", 'Path("scenarios', "Path('scenarios", "ROOT /"):
            assert bad not in code, f"{path.name} uses {bad!r}: use returnsim.shipped(...)"


# --------------------------------------------------------------------------------------------
# teaching notebooks: objectives, exercises checked by a cell, answers hidden from students


def _cells(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4).cells


@pytest.mark.parametrize("path", TEACHING, ids=[_id(p) for p in TEACHING])
def test_teaching_notebook_teaches_one_idea(path: Path):
    cells = _cells(path)
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# ")
    code = "\n".join(c.source for c in cells if c.cell_type == "code")
    assert "SMALL = os.environ.get(\"RETURNSIM_SMALL\") == \"1\"" in code  # a real fast mode
    # Figures come from returnsim.plots: no drawing code in the notebook itself.
    for call in (".plot(", ".errorbar(", ".bar(", ".barh(", ".scatter(", ".fill_between(", ".hist(", "set_xlabel"):
        assert call not in code, f"{path.name} draws with {call!r}: move it into returnsim.plots"
    if path.parent.name == "instructor":
        assert "**Learning objectives.**" in cells[0].source
        solutions = [c for c in cells if "solution" in c.metadata.get("tags", [])]
        checks = [c for c in cells if c.cell_type == "code" and CHECK_CELL.match(c.source.strip())]
        assert len(solutions) >= 3 and len(checks) == len(solutions)


def test_student_copies_are_generated_and_hide_the_answers():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_student_copies", NB / "instructor" / "make_student_copies.py")
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main(["--check"]) == 0, "run notebooks/instructor/make_student_copies.py"
    for source in tool.sources():
        student = _cells(NB / "teaching" / source.name)
        teacher = _cells(source)
        solutions = [c.source for c in teacher if "solution" in c.metadata.get("tags", [])]
        answers = [c.source for c in student if "answer" in c.metadata.get("tags", [])]
        assert len(answers) == len(solutions) >= 3
        assert all(line.endswith("= None  # replace None with your answer") for a in answers for line in a.splitlines())
        text = "\n".join(c.source for c in student)
        for sol in solutions:
            assert sol not in text
        assert "Instructor notes" not in text and "Instructor notes" in "\n".join(c.source for c in teacher)


def test_verdict_says_right_or_wrong_and_is_strict_only_for_solutions(monkeypatch, capsys):
    from returnsim.teaching import verdict

    monkeypatch.delenv("RETURNSIM_EXPECT_SOLUTIONS", raising=False)
    verdict(None, 1.0)
    verdict(1.01, 1.0)
    verdict(2.0, 1.2345, hint="look again")
    verdict("Give Away Under $5 ", "give away under $5")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Not answered yet") and out[1].startswith("Correct")
    assert out[2].startswith("Not yet") and "look again" in out[2] and out[3].startswith("Correct")
    assert "1.2345" not in out[2] and "1.23" not in out[2]  # never the expected value
    monkeypatch.setenv("RETURNSIM_EXPECT_SOLUTIONS", "1")
    with pytest.raises(AssertionError):
        verdict(2.0, 1.0)
    with pytest.raises(AssertionError):
        verdict(None, 1.0)


def test_check_computes_the_expected_value_itself_and_names_the_exercise(monkeypatch, capsys):
    from returnsim import analytic
    from returnsim.teaching import EXERCISES, check

    monkeypatch.delenv("RETURNSIM_EXPECT_SOLUTIONS", raising=False)
    sc = rs.load_scenario(SEED_SCENARIO)
    right = analytic.giveaway_breakeven(sc, "accessories", "unopened")
    check("disposition-1", right, sc=sc)
    check("disposition-1", right * 1.5, sc=sc)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Correct") and out[1].startswith("Not yet")
    assert EXERCISES["disposition-1"].hint in out[1] and f"{right:.2f}" not in out[1]
    with pytest.raises(KeyError, match="no such exercise"):
        check("desk-99", 1.0)


CHECK_CELL = re.compile(r'^check\("[\w-]+", answer_\w+(, \w+=[\w\[\]"\' -]+)*\)$')


def _number_forms(value: float) -> set[str]:
    """How a notebook might print ``value``: as a share, a percentage or a plain number. A plain
    number needs four significant digits, a percentage three: fewer match unrelated figures of
    the notebook's own tables by chance (seen: "1.57", seed's retained margin per order in a
    small run, against exercise label-2's 1.5739)."""

    def digits(form: str) -> int:
        return len(re.sub(r"\D", "", form.lstrip("-0.")))

    plain = {f"{value:.2f}", f"{value:.3f}", f"{value:.4f}", f"{value:.4g}", f"{value * 100:.2f}"}
    percent = {f"{value:.1%}", f"{value:.2%}", f"{value * 100:.1f} pp", f"{value * 100:.1f} %"}
    return {f for f in plain if digits(f) >= 4} | {f for f in percent if digits(f) >= 3}


def _assert_prints_no_expected_value(nb, log: Path) -> None:
    """A student's copy never prints an exercise's expected value, nor shows its expression."""
    import json

    assert log.is_file(), "the student copy called no check()"
    expected = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(expected) >= 3
    text = "\n".join(
        out.get("text", "") + "".join(out.get("data", {}).get("text/plain", "")) + "".join(out.get("data", {}).get("text/html", ""))
        for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
    )
    for e in expected:
        if isinstance(e["expected"], str):  # a choice among options the notebook lists
            continue
        for form in _number_forms(float(e["expected"])):
            assert not re.search(rf"(?<![\d.]){re.escape(form)}(?!\d)", text), (e["exercise"], form)
    for cell in nb.cells:
        if cell.cell_type == "code" and "check(" in cell.source:
            assert CHECK_CELL.match(cell.source.strip()), f"a check cell shows more than the exercise: {cell.source}"


# --------------------------------------------------------------------------------------------
# plots.py


@pytest.fixture(scope="module")
def small_runs() -> dict[str, rs.RunResult]:
    sc = rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 20})
    return {p: rs.simulate(sc, policy=p, seed=0, trace=True) for p in sc.policies}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _bar_rows(ax: Axes) -> set[float]:
    """Distinct y centres of the horizontal bars on ``ax``."""
    return {round(p.get_y() + p.get_height() / 2, 6) for c in ax.containers for p in c.patches}


def test_plots_public_names():
    for name in ("cost_breakdown", "response_times", "outcome_mix", "kpi_bars", "late_by_weekday"):
        assert name in plots.__all__
        assert plots.__dict__[name].__doc__


def test_plots_do_not_choose_a_backend_show_or_save():
    import ast

    tree = ast.parse((ROOT / "returnsim" / "plots.py").read_text(encoding="utf-8"))
    called = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not called & {"use", "show", "savefig", "switch_backend"}, called


@pytest.mark.parametrize("per", ["order", "return", "total"])
def test_cost_breakdown(small_runs, per):
    ax = plots.cost_breakdown(small_runs, per=per)
    assert isinstance(ax, Axes)
    names = list(small_runs)
    # one bar per policy in every category container, and one bar row per policy
    assert ax.containers and all(len(c.patches) == len(names) for c in ax.containers)
    assert len(_bar_rows(ax)) == len(names)
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    # the net marker sits at costs - credits, per the chosen unit
    (marker,) = ax.collections
    net = marker.get_offsets()[:, 0]
    key = {"order": "demand_orders", "return": "return_requests", "total": None}[per]
    expected = [
        r.kpis["net_return_cost"] / (r.kpis[key] if key else 1.0) for r in small_runs.values()
    ]
    np.testing.assert_allclose(net, expected, rtol=1e-9)
    # credits to the left of zero, costs to the right
    for c in ax.containers:
        widths = np.array([p.get_width() for p in c.patches])
        label = c.get_label()
        assert (widths <= 0).all() if label.startswith("−") else (widths >= 0).all(), label


def test_cost_breakdown_draws_on_given_axes(small_runs):
    fig, (a1, a2) = plt.subplots(1, 2)
    out = plots.cost_breakdown(small_runs, ax=a2, per="return")
    assert out is a2 and not a1.containers and a2.containers


def test_cost_breakdown_rejects_unknown_unit(small_runs):
    with pytest.raises(ValueError, match="per"):
        plots.cost_breakdown(small_runs, per="week")


def test_response_times(small_runs):
    traces = {p: r.trace for p, r in small_runs.items()}
    ax = plots.response_times(traces, late_after=48)
    assert isinstance(ax, Axes)
    gids = [line.get_gid() for line in ax.get_lines()]
    for p in traces:
        assert gids.count(f"response:{p}") == 1
        assert gids.count(f"decision:{p}") == 1
    assert "late_after" in gids and "target" in gids
    late_line = next(line for line in ax.get_lines() if line.get_gid() == "late_after")
    assert late_line.get_xdata()[0] == 48
    # the ECDF ends at 100 %
    seed = next(line for line in ax.get_lines() if line.get_gid() == "response:seed")
    assert seed.get_ydata()[-1] == pytest.approx(1.0)
    # the legend states each policy's late share
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    for p, tr in traces.items():
        assert f"{p}  (late {tr['late'].mean():.1%}" in " ".join(legend)


def test_response_times_accepts_runs_and_drops_decision(small_runs):
    ax = plots.response_times(small_runs, decision=False, target=None, log_x=False)
    gids = [line.get_gid() for line in ax.get_lines()]
    assert sum(g.startswith("response:") for g in gids if g) == len(small_runs)
    assert not any(g.startswith("decision:") for g in gids if g)
    assert "target" not in gids


def test_outcome_mix(small_runs):
    ax = plots.outcome_mix(small_runs)
    assert isinstance(ax, Axes)
    names = list(small_runs)
    assert all(len(c.patches) == len(names) for c in ax.containers)
    assert len(_bar_rows(ax)) == len(names)
    # every policy's shares add up to one, and match the trace
    total = np.zeros(len(names))
    for c in ax.containers:
        total += [p.get_width() for p in c.patches]
    np.testing.assert_allclose(total, 1.0)
    labels = [c.get_label() for c in ax.containers]
    seed_trace = small_runs["seed"].trace
    i = labels.index("returned_refund")
    assert ax.containers[i].patches[0].get_width() == pytest.approx(
        (seed_trace["outcome"] == "returned_refund").mean()
    )
    # auto_authorise makes no offers: its bar has no kept-sale segments
    j = names.index("auto_authorise")
    for o in ("troubleshot", "exchanged", "replaced", "kept_partial_refund"):
        if o in labels:
            assert ax.containers[labels.index(o)].patches[j].get_width() == 0


def test_outcome_mix_needs_a_trace(small_runs):
    sc = rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 5})
    with pytest.raises(ValueError, match="trace"):
        plots.outcome_mix({"seed": rs.simulate(sc, policy="seed", seed=0)})


def test_kpi_bars_from_runs(small_runs):
    ax = plots.kpi_bars(small_runs, "policy_profit_per_order", highlight="seed")
    assert isinstance(ax, Axes)
    (bars,) = ax.containers
    assert len(bars.patches) == len(small_runs)
    np.testing.assert_allclose(
        [p.get_width() for p in bars.patches],
        [r.kpis["policy_profit_per_order"] for r in small_runs.values()],
    )


def test_kpi_bars_with_confidence_intervals():
    table = pd.DataFrame(
        {
            "policy": ["seed", "free_returns", "seed", "free_returns"],
            "metric": ["late_response_rate"] * 2 + ["policy_profit_per_order"] * 2,
            "mean": [0.04, 0.03, 1.5, -0.5],
            "ci_low": [0.03, 0.02, 1.0, -1.0],
            "ci_high": [0.05, 0.04, 2.0, 0.0],
        }
    )
    ax = plots.kpi_bars(table, "policy_profit_per_order")
    bars = ax.containers[0]
    assert [p.get_width() for p in bars.patches] == [1.5, -0.5]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["seed", "free_returns"]
    errorbars = [c for c in ax.containers if type(c).__name__ == "ErrorbarContainer"]
    assert len(errorbars) == 1
    segments = errorbars[0].lines[2][0].get_segments()
    np.testing.assert_allclose([s[:, 0] for s in segments], [[1.0, 2.0], [-1.0, 0.0]])
    ax2 = plots.kpi_bars(table, "late_response_rate")
    assert len(ax2.containers[0].patches) == 2


def test_kpi_bars_wide_table_without_ci(small_runs):
    wide = pd.DataFrame({p: r.kpis for p, r in small_runs.items()}).T
    ax = plots.kpi_bars(wide, "late_response_rate")
    assert len(ax.containers) == 1 and len(ax.containers[0].patches) == len(small_runs)
    with pytest.raises(ValueError):
        plots.kpi_bars(wide.drop(columns="late_response_rate"), "late_response_rate")


def test_late_by_weekday(small_runs):
    traces = {"seed": small_runs["seed"].trace, "free_returns": small_runs["free_returns"].trace}
    ax = plots.late_by_weekday(traces)
    assert isinstance(ax, Axes)
    assert len(ax.containers) == 2 and all(len(c.patches) == 7 for c in ax.containers)
    tr = traces["seed"]
    day = (tr["request_time"] // 24 % 7).astype(int)
    expected = tr["late"].groupby(day).mean().reindex(range(7))
    heights = np.array([p.get_height() for p in ax.containers[0].patches])
    np.testing.assert_allclose(heights, expected.to_numpy(), equal_nan=True)
