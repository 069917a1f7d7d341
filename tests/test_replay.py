"""Replay: a seller's own orders and requests through each policy (issue 20, docs/replay.md)."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, SEED_SCENARIO, run_cli

import returnsim as rs
from returnsim.calibrate.readers import ReportError, read_mfn_returns
from returnsim.model.replay_source import ReplayDemand, ReplaySource, hashed_uniforms
from returnsim.model.simulation import streams
from returnsim.model.world import World
from returnsim.replay import read_inputs
from returnsim.replay.actuals import actual_figures, compare, prediction_interval

REPORTS = ROOT / "returnsim" / "_shipped" / "examples" / "amazon_reports"
FILES = {
    "orders": REPORTS / "synthetic_orders.txt",
    "fba_returns": REPORTS / "synthetic_fba_returns.txt",
    "mfn_returns": REPORTS / "synthetic_mfn_returns.txt",
    "classes": REPORTS / "synthetic_classes.csv",
}
TWO = ["seed", "free_returns"]


@pytest.fixture(scope="module")
def sc():
    return rs.load_scenario(SEED_SCENARIO)


@pytest.fixture(scope="module")
def inputs(sc):
    return read_inputs(sc, **FILES)


def _subset(d: ReplayDemand, keep: np.ndarray) -> ReplayDemand:
    cols = {f.name: getattr(d, f.name) for f in dataclasses.fields(d)}
    return ReplayDemand(**{k: (v[keep] if k not in ("orders_per_day", "digest") else v) for k, v in cols.items()})


def _trace(inputs, policy: str, demand: ReplayDemand | None = None, seed: int = 3) -> pd.DataFrame:
    run = rs.simulate(inputs.scenario, policy, seed=seed, trace=True, source=demand or inputs.demand)
    return run.trace[run.trace["generation"] == 0]


# ---------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------


def test_reports_are_read_with_their_problems_and_every_matched_return_replayed(inputs):
    d = inputs.demand
    # The shipped reports were damaged on purpose: the readers' problems come through.
    assert len(inputs.problems) >= 5
    assert any("twelve" in str(p) for p in inputs.problems)
    # Every return that matches an order line and has a readable date is replayed, once.
    mfn = read_mfn_returns(FILES["mfn_returns"]).data
    n_mfn = int((inputs.returns["channel"] == "mfn").sum())
    assert n_mfn == int(mfn["request_date"].notna().sum())
    assert len(d) == len(inputs.returns) == len(np.unique(d.key))
    # Orders per day count orders (not lines), and every request's order is among them.
    orders = pd.read_csv(FILES["orders"], sep="\t")
    assert d.orders_per_day.sum() == orders["amazon-order-id"].nunique()
    assert (d.order_time >= 0).all() and (d.order_time < len(d.orders_per_day) * 24).all()
    assert inputs.start.weekday() == 0 and inputs.scenario.warmup_days == 0


def test_a_request_is_dated_after_its_order_and_as_the_report_says(inputs):
    rng = streams(0)
    src = ReplaySource(World(inputs.scenario), inputs.demand, rng["orders"], rng["requests"])
    d = inputs.demand
    t = src._time
    assert (t > d.order_time).all()
    mfn = ~d.arrival
    # A seller-fulfilled request dated to the day keeps its day (the hour is drawn).
    day = np.floor(d.request_time[mfn] / 24)
    later = t[mfn] > d.order_time[mfn] + 1.0
    assert np.array_equal(np.floor(t[mfn][later] / 24), day[later])
    # An FBA return is dated by the unit's arrival: the request comes before it.
    assert (t[d.arrival] <= d.request_time[d.arrival] + 24).all()
    assert (t[d.arrival] < d.request_time[d.arrival]).mean() > 0.9


def test_unusable_files_raise_the_readers_errors(sc, tmp_path):
    empty = tmp_path / "orders.txt"
    empty.write_text("")
    with pytest.raises(ReportError, match="orders.txt"):
        read_inputs(sc, orders=empty, mfn_returns=FILES["mfn_returns"])
    with pytest.raises(ReportError, match="not the report expected"):
        read_inputs(sc, orders=FILES["fba_returns"], mfn_returns=FILES["mfn_returns"])
    # a Returns report has an order id and an order date, which the orders' reader had taken
    # for an orders report's
    with pytest.raises(ReportError, match="this is a seller-fulfilled Returns report, not the report expected"):
        read_inputs(sc, orders=FILES["mfn_returns"], mfn_returns=FILES["mfn_returns"])
    # nothing to replay: the message carries the notes that say why (here, no class mapping)
    with pytest.raises(ValueError, match="nothing to replay") as err:
        read_inputs(sc, orders=FILES["orders"], mfn_returns=FILES["mfn_returns"])
    said = str(err.value)
    assert "items were put in price bands (proposed), which the scenario's classes (accessories, electronics, apparel)" in said
    assert "pass classes= (--classes)" in said and "returns are of items in no class of the scenario" in said, said
    with pytest.raises(ValueError, match="fba_returns= or mfn_returns="):
        read_inputs(sc, orders=FILES["orders"])


def test_returns_of_more_units_than_memory_can_replay_are_refused(sc, tmp_path, monkeypatch, capsys):
    """Each unit a return row returns is replayed as a request: a quantity typed as 100000000
    (on the row and its order line) took all of a 24 GB machine's memory until the process was
    killed. The reading now refuses it before building the requests, saying how many and how
    much memory (here the memory available is set to 2 MB), unless allowed; the shipped reports
    read as before under the same limit."""
    from returnsim.model.budget import RunTooLarge
    from returnsim.replay import inputs as inputs_mod

    mfn = FILES["mfn_returns"].read_text(encoding="utf-8").split("\n")
    head = mfn[0].split("\t")
    row = mfn[1].split("\t")
    row[head.index("Return quantity")] = "5000"
    orders = FILES["orders"].read_text(encoding="utf-8").split("\n")
    at = next(i for i, line in enumerate(orders) if line.startswith(row[0] + "\t"))
    cells = orders[at].split("\t")
    cells[orders[0].split("\t").index("quantity")] = "5000"
    orders[at] = "\t".join(cells)
    mfn[1] = "\t".join(row)
    (tmp_path / "mfn.txt").write_text("\n".join(mfn), encoding="utf-8")
    (tmp_path / "orders.txt").write_text("\n".join(orders), encoding="utf-8")
    big = {"orders": tmp_path / "orders.txt", "mfn_returns": tmp_path / "mfn.txt", "classes": FILES["classes"]}
    shipped = {k: FILES[k] for k in big}
    monkeypatch.setattr(inputs_mod, "available_memory", lambda: 2e6)
    small = read_inputs(sc, **shipped)
    with pytest.raises(RunTooLarge, match=r"mfn.txt: 1 row returns more than one unit \(up to 5,000\).*allow_large=True"):
        read_inputs(sc, **big)
    allowed = read_inputs(sc, **big, allow_large=True)
    assert len(allowed.demand.request_time) == len(small.demand.request_time) + 4999
    code, _, err = run_cli(capsys, "replay", str(SEED_SCENARIO), *(x for k, v in big.items() for x in (f"--{k.replace('_', '-')}", str(v))))
    assert code == 2 and "Correct the quantities in the report" in err and "--allow-large" in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------------
# what is taken as it happened, what is simulated
# ---------------------------------------------------------------------------------------------


def test_the_reports_columns_are_taken_as_they_happened(inputs):
    tr = _trace(inputs, "seed")
    d = inputs.demand
    assert len(tr) == len(d)
    by = np.lexsort((d.price, d.order_time))
    tb = np.lexsort((tr["price"].to_numpy(), tr["order_time"].to_numpy()))
    assert np.array_equal(tr["order_time"].to_numpy()[tb], d.order_time[by])
    assert np.array_equal(tr["price"].to_numpy()[tb], d.price[by])
    names = np.array(list(inputs.scenario.catalog))
    assert np.array_equal(tr["item_class"].astype(str).to_numpy()[tb], names[d.item_class[by]])
    reasons = np.array(list(inputs.scenario.reasons))
    known = d.stated_reason[by] >= 0
    assert np.array_equal(tr["stated_reason"].astype(str).to_numpy()[tb][known], reasons[d.stated_reason[by]][known])
    inside = d.in_policy[by] >= 0
    assert np.array_equal(tr["in_window"].to_numpy()[tb][inside], d.in_policy[by][inside] == 1)


def test_every_policy_meets_the_same_buyers(inputs):
    a, b = _trace(inputs, "seed"), _trace(inputs, "strict_buyer_pays")
    for col in ("request_time", "order_time", "true_reason", "condition", "stated_condition", "price"):
        assert a[col].equals(b[col]), col
    # ... and what the policy changes does change: the buyer pays the label and a restocking
    # fee (the seller's money per request), and the offers' take-up with it.
    assert not a["buyer_fees"].equals(b["buyer_fees"]) and not a["net_cost"].equals(b["net_cost"])


def test_hidden_draws_follow_the_request_not_its_position(inputs):
    """Leaving requests out of the input changes no other request's buyer."""
    d = inputs.demand
    rng = np.random.default_rng(1)
    keep = np.sort(rng.choice(len(d), size=len(d) - 40, replace=False))
    full, part = _trace(inputs, "seed"), _trace(inputs, "seed", _subset(d, keep))
    key = ["order_time", "price", "request_time"]
    merged = full.merge(part, on=key, suffixes=("", "_p"))
    # Requests of one order line at one price may coincide on the key; the rest match one to one.
    assert len(merged) >= len(part) - 5
    for col in ("true_reason", "condition", "patience_h" if "patience_h" in full else "stated_condition"):
        assert (merged[col].astype(str) == merged[col + "_p"].astype(str)).all(), col


def mix(x: int) -> int:
    """SplitMix64's finaliser on a Python integer (mod 2**64), written from its definition."""
    m = (1 << 64) - 1
    z = (x + 0x9E3779B97F4A7C15) & m
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    return z ^ (z >> 31)


def test_hashed_uniforms_are_their_definition():
    """Column c of key k is the top 53 bits of mix(mix(k ^ salt) + (c + 1) * golden), one at a
    time in Python; some columns alone are the same numbers."""
    keys = np.array([0, 1, 7919, 2**63 + 5, 2**64 - 1], dtype=np.uint64)
    g, m = 0x9E3779B97F4A7C15, (1 << 64) - 1
    want = [[(mix((mix(k ^ 5) + (c + 1) * g) & m) >> 11) * 2.0**-53 for c in range(4)] for k in keys.tolist()]
    assert hashed_uniforms(keys, 5, 4).tolist() == want
    assert hashed_uniforms(keys, 5, 4, np.array([3, 1])).tolist() == [[w[3], w[1]] for w in want]


def test_hashed_uniforms_are_uniform_and_independent_of_order():
    keys = np.arange(20000, dtype=np.uint64) * np.uint64(7919)
    u = hashed_uniforms(keys, 5, 3)
    assert u.min() >= 0 and u.max() < 1
    # Mean of 60000 uniforms: sd 1/sqrt(12 * 60000); 4 sd either side.
    assert abs(u.mean() - 0.5) < 4 / np.sqrt(12 * u.size)
    assert abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 4 / np.sqrt(len(keys))
    perm = np.random.default_rng(0).permutation(len(keys))
    assert np.array_equal(hashed_uniforms(keys[perm], 5, 3), u[perm])
    assert not np.array_equal(hashed_uniforms(keys, 6, 3), u)


def test_the_true_reason_of_an_honest_scenario_is_the_stated_one(sc):
    honest = rs.load_scenario(SEED_SCENARIO, overrides={"returns.misreport_rate": 0.0})
    inp = read_inputs(honest, **FILES)
    tr = _trace(inp, "seed")
    assert (tr["true_reason"].astype(str) == tr["stated_reason"].astype(str)).all()
    assert sc.returns.misreport_rate > 0
    tl = _trace(read_inputs(sc, **FILES), "seed")
    assert (tl["true_reason"].astype(str) != tl["stated_reason"].astype(str)).any()


def test_released_parts_do_not_depend_on_the_chunk(inputs):
    world = World(inputs.scenario)

    def parts(chunk):
        rng = streams(4)
        src = ReplaySource(world, inputs.demand, rng["orders"], rng["requests"], chunk=chunk)
        got = list(iter(src.next_part, None))
        return np.concatenate([p.req.request_time for p in got]), np.concatenate([p.req.patience_h for p in got])

    t1, p1 = parts(7)
    t2, p2 = parts(None)
    assert np.array_equal(t1, t2) and np.array_equal(p1, p2)
    assert (np.diff(t1) >= 0).all()


# ---------------------------------------------------------------------------------------------
# outputs like a run: result type, store and resume, executors
# ---------------------------------------------------------------------------------------------


def test_replay_is_an_experiment_result_and_resumes_only_from_the_same_inputs(sc, tmp_path):
    store = tmp_path / "s.sqlite"
    first = rs.replay(sc, **FILES, policies=TWO, replications=2, store=store, actuals=False)
    assert isinstance(first, rs.ExperimentResult) and first.computed == 4
    again = rs.replay(sc, **FILES, policies=TWO, replications=2, store=store, actuals=False)
    assert again.computed == 0 and again.from_store == 4
    pd.testing.assert_frame_equal(first.runs, again.runs)
    # Other inputs (one request fewer) never read the stored rows back.
    lines = FILES["mfn_returns"].read_text().splitlines(keepends=True)
    other = tmp_path / "mfn.txt"
    other.write_text("".join(lines[:-1]))
    changed = rs.replay(sc, **{**FILES, "mfn_returns": other}, policies=TWO, replications=2, store=store, actuals=False)
    assert changed.computed == 4 and changed.scenario_hash != first.scenario_hash
    # The plain scenario's runs are not the replay's either.
    assert rs.run_experiment(sc, policies=TWO, replications=1, store=store).computed == 2


def test_executors_give_the_serial_numbers(sc):
    """The replay's arrays travel with each batch: threads, spawned processes and a Dask
    cluster's worker processes (through ``scheduler=``, as ``returnsim replay --scheduler``)
    alike."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from distributed import LocalCluster

    serial = rs.replay(sc, **FILES, policies=TWO, replications=2, actuals=False)
    with ThreadPoolExecutor(2) as ex:
        pooled = rs.replay(sc, **FILES, policies=TWO, replications=2, executor=ex, workers=2, actuals=False)
    pd.testing.assert_frame_equal(serial.runs, pooled.runs)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as ex:
        spawned = rs.replay(sc, **FILES, policies=TWO, replications=2, executor=ex, workers=2, actuals=False)
    pd.testing.assert_frame_equal(serial.runs, spawned.runs)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_dask = rs.replay(sc, **FILES, policies=TWO, replications=2, actuals=False, scheduler=cluster.scheduler_address)
    assert on_dask.executor == f"dask({cluster.scheduler_address})"
    pd.testing.assert_frame_equal(serial.runs, on_dask.runs)


# ---------------------------------------------------------------------------------------------
# actuals beside the replay
# ---------------------------------------------------------------------------------------------


def test_actuals_are_the_reports_own_totals(inputs):
    raw = pd.read_csv(FILES["mfn_returns"], sep="\t", dtype=str)
    act = actual_figures(inputs.returns)
    rep = read_mfn_returns(FILES["mfn_returns"]).data
    replayed = rep[rep["request_date"].notna()]
    assert act["refunds"] == pytest.approx(replayed["refunded_amount"].sum())
    assert act["az_claims"] == int((replayed["az_claim"] == True).sum())  # noqa: E712
    seller = replayed["label_payer"].str.upper() == "SELLER"
    assert act["seller_labels"] == pytest.approx(replayed.loc[seller, "label_cost"].fillna(0).sum())
    assert len(raw) >= len(replayed)


def test_actual_vs_replayed_covers_the_reports_requests_and_flags_what_is_off(sc):
    res = rs.replay(sc, **FILES, policies=TWO, replications=4)
    a = res.actuals
    assert isinstance(a, pd.DataFrame)
    row = a.set_index("figure")
    refunds = row.loc["refunded to buyers (net of deductions)"]
    assert refunds["ci_low"] <= refunds["replayed"] <= refunds["ci_high"]
    assert refunds["difference"] == pytest.approx(refunds["replayed"] - refunds["actual"])
    assert set(row.loc[["rdr", "odr"], "note"].str[:14]) == {"not compared: "}
    # Beside them, the replay's store-wide Amazon metrics and money by ledger category, each
    # with the interval of one year over the current policy's replications.
    wide = a[a["scope"] == "store-wide"].set_index("figure")
    assert set(wide.index) == {"rdr", "odr", "net_return_cost", *rs.CATEGORIES}
    seed_runs = res.runs[res.runs["policy"] == "seed"]
    for col in wide.index:
        mean, lo, hi = prediction_interval(seed_runs[col].to_numpy())
        assert wide.loc[col, ["replayed", "ci_high"]].tolist() == pytest.approx([mean, hi], nan_ok=True), col
        assert wide.loc[col, "note"].startswith("not compared: ")
    assert wide["actual"].isna().all()
    # Rates and money by category are never negative (the net cost may be): intervals stop at 0.
    assert (wide.drop(index="net_return_cost")["ci_low"].dropna() >= 0).all()
    text = res.actuals_table()
    assert text.count("the FBA customer returns report carries no amounts") == 1  # one note, every figure named
    # An actual far outside the interval is flagged with the inputs to revisit; one inside is not.
    replayed = [{k: 100.0 + i for k in ("refunds", "seller_labels", "az_claims", "safet_reimbursements", "returnless_share")} for i in range(4)]
    out = compare({"refunds": 101.5, "seller_labels": 1e6}, replayed, res.runs, "seed").set_index("figure")
    assert out.loc["refunded to buyers (net of deductions)", "within"] is True
    assert out.loc["return labels paid by the seller", "within"] is False
    assert out.loc["return labels paid by the seller", "note"].startswith("revisit: ")
    assert "Actual vs replayed" in res.actuals_table()


def test_figures_summed_during_the_runs_are_the_traces(inputs):
    """The replay's figures come out of the experiment's own replications (no trace, no second
    run) and equal what each replication's trace gives, for every policy and replication."""
    from returnsim.model.replay_figures import REPLAY_FIGURES
    from returnsim.replay.actuals import replayed_figures, trace_figures

    res = rs.replay(inputs.scenario, inputs=inputs, orders=None, policies=TWO, replications=3, seed=5, actuals=False)
    assert set(REPLAY_FIGURES) <= set(res.runs.columns)
    world = World(inputs.scenario)
    for policy in TWO:
        got = replayed_figures(res.runs, policy)
        assert len(got) == 3
        for r, fig in enumerate(got):
            run = rs.simulate(inputs.scenario, policy, seed=np.random.SeedSequence([5, r]), trace=True, source=inputs.demand)
            want = trace_figures(run.trace, inputs.returns, world)
            assert fig == pytest.approx(want, rel=1e-12, abs=1e-9), (policy, r)
    # Many tasks in one batch (as a pool's workers get them) sum each run afresh.
    from returnsim.experiment.tasks import run_batch

    batch = run_batch(inputs.scenario, 5, [(p, r) for p in TWO for r in range(3)], inputs.demand)
    runs = res.runs.set_index(["policy", "replication"])
    for rec in batch:
        assert [rec[k] for k in REPLAY_FIGURES] == runs.loc[(rec["policy"], rec["replication"]), list(REPLAY_FIGURES)].tolist()
    # The policies differ in what the report would record (free returns: the seller pays every label).
    assert replayed_figures(res.runs, "seed") != replayed_figures(res.runs, "free_returns")
    # A plain experiment has none of them.
    plain = rs.run_experiment(inputs.scenario, policies=["seed"], replications=1)
    assert not set(REPLAY_FIGURES) & set(plain.runs.columns)
    with pytest.raises(ValueError, match="not a replay's runs"):
        replayed_figures(plain.runs, "seed")
    with pytest.raises(TypeError, match="observe must be a function"):
        rs.simulate(inputs.scenario, "seed", source=inputs.demand, observe="replay")


def test_a_resumed_replay_gives_the_same_actuals_without_simulating(inputs, tmp_path, monkeypatch):
    """The figures the actuals need are kept in the results store with the KPIs: a replay read
    back from it simulates nothing, yet gives the fresh run's actuals."""
    store = tmp_path / "s.sqlite"
    first = rs.replay(inputs.scenario, inputs=inputs, orders=None, policies=TWO, replications=3, store=store)

    def no_run(*args, **kwargs):
        raise AssertionError("simulated again")

    import returnsim.experiment.tasks as tasks
    import returnsim.model as model

    monkeypatch.setattr(tasks, "simulate", no_run)
    monkeypatch.setattr(model, "simulate", no_run)
    again = rs.replay(inputs.scenario, inputs=inputs, orders=None, policies=TWO, replications=3, store=store)
    assert again.computed == 0 and again.from_store == 6
    pd.testing.assert_frame_equal(first.runs, again.runs)
    pd.testing.assert_frame_equal(first.actuals, again.actuals)


def test_without_a_returns_report_the_replay_has_nothing_to_set_beside_it(sc):
    """Only the FBA report: no request of the seller-fulfilled report, so no actual, nothing
    summed, a share that is not defined (and said why), and no row outside its interval."""
    fba_only = {k: v for k, v in FILES.items() if k != "mfn_returns"}
    res = rs.replay(sc, **fba_only, policies=["seed"], replications=2)
    seller = res.actuals[res.actuals["scope"] == "seller-fulfilled"]
    assert seller["actual"].isna().all() and seller["within"].isna().all()
    assert (res.runs[["replay_refunds", "replay_seller_labels", "replay_az_claims"]] == 0).all().all()
    assert res.runs["replay_returnless_share"].isna().all()
    assert any("replay_returnless_share" in n and "seller-fulfilled Returns report" in n for n in res.notes)


def test_the_trace_rows_found_for_the_reports_requests_are_all_of_them(inputs):
    from returnsim.replay.actuals import trace_figures

    run = rs.simulate(inputs.scenario, "seed", seed=0, trace=True, source=inputs.demand)
    mfn = inputs.returns[inputs.returns["channel"] == "mfn"]
    fig = trace_figures(run.trace, inputs.returns, World(inputs.scenario))
    gen0 = run.trace[run.trace["generation"] == 0]
    # Counting every gen-0 row would be wrong by the FBA requests: the match is by channel.
    assert len(gen0) > len(mfn)
    assert fig["refunds"] < float(gen0["refunds"].sum() + gen0["partial_refunds"].sum())
    keys = pd.MultiIndex.from_arrays([gen0["order_time"].to_numpy(), gen0["price"].to_numpy()])
    want = pd.MultiIndex.from_arrays([mfn["order_time"].to_numpy(), mfn["price"].to_numpy()])
    assert int(keys.isin(want).sum()) == len(mfn)


# ---------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------



def test_cli_replay_prints_the_answer_and_the_actuals_and_writes_files(capsys, tmp_path):
    code, out, err = run_cli(
        capsys, "replay", str(SEED_SCENARIO), "--orders", str(FILES["orders"]), "--mfn-returns", str(FILES["mfn_returns"]),
        "--fba-returns", str(FILES["fba_returns"]), "--classes", str(FILES["classes"]),
        "--policy", "seed", "--policy", "free_returns", "--replications", "3", "--workers", "1", "--out", str(tmp_path),
    )
    assert code == 0, err
    assert "Replayed" in out and "Answer" in out and "Actual vs replayed" in out
    assert "Label cost" in out  # a reader's problem
    for name in ("runs.csv", "summary.csv", "actuals.csv", "report.html"):
        assert (tmp_path / name).is_file(), name
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Actual vs replayed: seed" in html and "refunded to buyers (net of deductions)" in html
    actuals = pd.read_csv(tmp_path / "actuals.csv")
    assert set(actuals["figure"]) >= {"refunded to buyers (net of deductions)", "rdr", "odr"}


def test_cli_bad_files_give_the_readers_errors_without_traceback(capsys, tmp_path):
    bad = tmp_path / "orders.txt"
    bad.write_bytes(b"\x00\x01\x02binary")
    code, out, err = run_cli(capsys, "replay", str(SEED_SCENARIO), "--orders", str(bad), "--mfn-returns", str(FILES["mfn_returns"]))
    assert code == 2 and "orders.txt" in err and "Traceback" not in err
    code, out, err = run_cli(capsys, "replay", str(SEED_SCENARIO), "--orders", str(FILES["orders"]))
    assert code == 2 and "--mfn-returns" in err
    code, out, err = run_cli(capsys, "replay", str(SEED_SCENARIO), "--orders", str(tmp_path / "nope.txt"), "--mfn-returns", str(FILES["mfn_returns"]))
    assert code == 2 and "no such file" in err
    # Orders of another account: not one return matches an order line.
    other = tmp_path / "other_orders.txt"
    head, *lines = FILES["orders"].read_text(encoding="utf-8").splitlines(keepends=True)
    other.write_text(head + "".join("X" + line for line in lines), encoding="utf-8")
    code, out, err = run_cli(capsys, "replay", str(SEED_SCENARIO), "--orders", str(other), "--mfn-returns", str(FILES["mfn_returns"]))
    assert code == 2 and "no return in the reports matches an order line" in err and "Traceback" not in err
    assert "returns match no order line in the orders report" in err, err


# ---------------------------------------------------------------------------------------------
# the orders report, streamed
# ---------------------------------------------------------------------------------------------


def test_streamed_orders_count_and_keep_what_the_whole_file_gives(tmp_path):
    """Blocks of a few lines give the counts, kept lines and problems of reading the file whole,
    with quoted fields, unreadable dates, short rows, duplicates and cancellations in it."""
    from returnsim.calibrate.codes import CodeTable
    from returnsim.replay.orders import _whole, scan_orders

    lines = FILES["orders"].read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1:400]
    cols = header.split("\t")
    date_i, status_i, name_i = cols.index("purchase-date"), cols.index("order-status"), cols.index("product-name")
    f = rows[10].split("\t")
    f[date_i] = "31/13/2025"
    rows[10] = "\t".join(f)
    f = rows[20].split("\t")
    f[name_i] = '"SYNTHETIC\titem with a tab"'
    rows[20] = "\t".join(f)
    rows[30] = "\t".join(rows[30].split("\t")[:5])
    rows.insert(43, rows[42])
    # An order of two lines split over two blocks of 7 lines.
    f, g = rows[6].split("\t"), rows[7].split("\t")
    g[0] = f[0]
    rows[7] = "\t".join(g)
    f = rows[50].split("\t")
    f[status_i] = "Cancelled"
    rows[50] = "\t".join(f)
    path = tmp_path / "orders.txt"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    ids = [r.split("\t")[0] for r in rows]
    returned = set(ids[8:60:3]) | {ids[20], ids[10]}
    assert ids[42] not in returned and ids[6] not in returned
    codes = CodeTable.load()
    whole, wc = _whole(path, returned, codes)
    for block in (7, 64, 10_000):
        rep, c = scan_orders(path, returned, codes, block=block)
        pd.testing.assert_series_equal(c.per_day.sort_index(), wc.per_day.sort_index(), check_names=False, check_dtype=False, check_freq=False)
        assert c.countries == wc.countries
        got = rep.data.sort_values("line").reset_index(drop=True)
        want = whole.data.sort_values("line").reset_index(drop=True)
        pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False)
        assert sorted((p.line, p.problem) for p in rep.problems) == sorted((p.line, p.problem) for p in whole.problems)
    assert len(whole.problems) >= 3


@pytest.mark.parametrize("kind", ["mfn_returns", "fba_returns"])
def test_returns_read_in_blocks_are_the_whole_files_rows_and_problems(kind):
    from returnsim.calibrate.readers import read_fba_returns
    from returnsim.replay.orders import read_blocks

    reader = read_mfn_returns if kind == "mfn_returns" else read_fba_returns
    whole = reader(FILES[kind])
    assert whole.problems  # the shipped files were damaged on purpose
    for block in (5, 40):
        got = read_blocks(FILES[kind], reader, block=block)
        # A duplicate in another block than its first copy is not seen (docs/replay.md).
        dups = {p.line for p in whole.problems if "duplicate" in p.problem}
        data = got.data[~got.data["line"].isin(dups) | got.data["line"].isin(whole.data["line"])].reset_index(drop=True)
        pd.testing.assert_frame_equal(data[whole.data.columns], whole.data, check_dtype=False)
        assert sorted(str(p) for p in got.problems if "duplicate" not in p.problem) == sorted(
            str(p) for p in whole.problems if "duplicate" not in p.problem
        )
        assert got.day_resolution == whole.day_resolution and got.rows_read == whole.rows_read


def test_reports_the_model_made_fall_within_the_replays_intervals(tmp_path):
    """Reports made by this model from a scenario, replayed on that scenario: each figure the
    Returns report carries is a draw of what the replay predicts, so it falls within 1.5 times
    the half-width of the replay's 95 % one-year interval (about 2.9 sd: each figure outside by
    chance with P < 0.004, any of the five with P < 0.02)."""
    from returnsim.calibrate import synthetic_reports

    small = rs.load_scenario(SEED_SCENARIO, overrides={"demand.orders_per_day": 6})
    synthetic_reports(small, "seed", seed=7, months=12).write(tmp_path)
    files = {k: tmp_path / f"synthetic_{k}{'.csv' if k == 'classes' else '.txt'}" for k in FILES}
    res = rs.replay(small, **files, policies=["seed"], replications=20)
    seller = res.actuals[res.actuals["scope"] == "seller-fulfilled"]
    assert seller["actual"].notna().all()
    half = seller["ci_high"] - seller["replayed"]
    assert (half > 0).all()
    assert ((seller["actual"] - seller["replayed"]).abs() <= 1.5 * half).all(), res.actuals_table()
