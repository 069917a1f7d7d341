"""The calibrated scenario and the command: fitted values where the reports speak, the base's
elsewhere, every fitted line sourced, nothing private written, and the model reproduces what was
fitted."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SEED_SCENARIO
from scipy import stats

import returnsim as rs
from returnsim.calibrate import calibrate, synthetic_reports
from returnsim.calibrate.calibration import CalibrationError
from returnsim.calibrate.synthetic import stated_mix
from returnsim.calibrate.writer import feasible_misreport_rate
from returnsim.cli import main

EXAMPLES = ROOT / "scenarios" / "examples" / "amazon_reports"
ORDER_ID = re.compile(r"\d{3}-\d{7}-\d{7}")


def _cli(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "calibrate",
        "--fba-returns", str(EXAMPLES / "synthetic_fba_returns.txt"),
        "--mfn-returns", str(EXAMPLES / "synthetic_mfn_returns.txt"),
        "--orders", str(EXAMPLES / "synthetic_orders.txt"),
        "--output", str(tmp_path / "my_store.toml"),
        *extra,
    ]


def test_command_on_the_shipped_examples(tmp_path, capsys):
    assert main(_cli(tmp_path, "--classes", str(EXAMPLES / "synthetic_classes.csv"))) == 0
    out = capsys.readouterr().out
    assert "return_rate" in out and "Unread: 6 rows" in out and "SYN_NEW_CODE" in out
    assert len(out.splitlines()) <= 45  # one screen
    text = (tmp_path / "my_store.toml").read_text()
    sc = rs.load_scenario(tmp_path / "my_store.toml")
    assert set(sc.catalog) == {"accessories", "electronics", "apparel"}
    fitted = [ln for ln in text.splitlines() if "# fitted" in ln]
    assert len(fitted) >= 20
    for ln in fitted:
        if "1 - international share" in ln:
            continue
        assert "synthetic_" in ln and "rows" in ln or "returns" in ln or "orders" in ln, ln
        assert "CI" in ln, ln
    # the base's comments survive where nothing was fitted
    assert "# Amazon return window [A4]" in text
    report = (tmp_path / "my_store_fit.html").read_text()
    for blob in (out, text, report):
        assert not ORDER_ID.search(blob)
        assert "SYNTHETIC comment" not in blob  # buyers' comments are never read


def test_command_errors_are_clear(tmp_path, capsys):
    assert main(["calibrate", "--fba-returns", str(tmp_path / "nope.txt"), "--output", str(tmp_path / "x.toml")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["calibrate", "--output", str(tmp_path / "x.toml")]) == 2
    assert "at least one report" in capsys.readouterr().err
    assert main(_cli(tmp_path)[:-2] + ["--output", str(tmp_path / "x.txt")]) == 2
    assert ".toml" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(_cli(tmp_path, "--price-bands", "cheap"))
    assert "prices separated by commas" in capsys.readouterr().err
    for option, value in (("--price-bands", "20,20"), ("--price-bands", "nan"), ("--maturity-days", "-5"), ("--maturity-days", "nan")):
        with pytest.raises(SystemExit):
            main(_cli(tmp_path, option, value))
        err = capsys.readouterr().err
        assert f"argument {option}: expected" in err and repr(value) in err, err


@pytest.mark.parametrize(
    "bad",
    [{"maturity_days": float("nan")}, {"maturity_days": -1}, {"maturity_days": True}, {"price_bands": [20, 20]},
     {"price_bands": [float("inf")]}, {"price_bands": []}, {"price_bands": ["20"]}],
)
def test_bad_maturity_or_price_bands_are_refused_by_name(bad):
    """A NaN maturity had stopped with pandas' 'cannot convert float NaN to integer', a negative
    one fitted without a word, and repeated or NaN price bands were taken."""
    (name, value), = bad.items()
    with pytest.raises(CalibrationError, match=rf"calibrate\({name}=\.\.\.\): expected"):
        calibrate(orders=EXAMPLES / "synthetic_orders.txt", **bad)
    ok = calibrate(orders=EXAMPLES / "synthetic_orders.txt", maturity_days=np.float64(0), price_bands=[np.int64(50), 20.0])
    assert ok.info["price_bands"] == [20.0, 50]


def test_price_bands_without_a_mapping_keep_the_base_classes_at_share_zero(tmp_path):
    assert main(_cli(tmp_path, "--price-bands", "20,50")) == 0
    sc = rs.load_scenario(tmp_path / "my_store.toml")
    bands = {"price_under_20", "price_20_to_50", "price_50_plus"}
    assert bands <= set(sc.catalog)
    for name in ("accessories", "electronics", "apparel"):
        assert sc.catalog[name].share == 0.0
    assert sum(sc.catalog[b].share for b in bands) == pytest.approx(1.0, abs=1e-3)
    rs.simulate(sc, "seed", seed=0)  # the base's rules still work


@pytest.mark.parametrize(("rename", "hint"), [("Apparel", True), ("aparel", True), ("shoes", False), (None, False)])
def test_a_mapping_class_the_base_lacks_is_named_with_the_base_class_it_looks_like(tmp_path, rename, hint):
    """A class mapping that spells 'apparel' another way makes a new class, which takes none of
    the base's apparel settings (category, FBA, the rules naming it), while the base's apparel
    gets share 0: the notes say so, with the look-alike; the shipped mapping gives no such note."""
    mapping = (EXAMPLES / "synthetic_classes.csv").read_text(encoding="utf-8")
    if rename:
        mapping = mapping.replace(",apparel", f",{rename}")
    path = tmp_path / "classes.csv"
    path.write_text(mapping, encoding="utf-8")
    files = {k: EXAMPLES / f"synthetic_{k}.txt" for k in ("orders", "fba_returns", "mfn_returns")}
    cal = calibrate(**files, classes=path)
    sc = rs.parse_scenario(tomllib.loads(cal.to_scenario(base=SEED_SCENARIO)))
    said = [n for n in cal.writer_notes if "class mapping" in n]
    if rename is None:
        assert said == []
        return
    assert sc.catalog["apparel"].share == 0.0 and sc.catalog[rename].category != "clothing"
    assert len(said) == 1 and f"class '{rename}' is not in the base scenario" in said[0]
    assert "the base's 'apparel' gets share 0" in said[0]
    look = f"'{rename}' looks like the scenario's 'apparel': if it is that class, name it 'apparel' in the class mapping"
    assert (look in said[0]) == hint, said


def test_order_counts_per_month_give_a_store_wide_return_rate():
    rep_orders = {f"2024-{m:02d}": 180 for m in range(1, 13)}
    cal = calibrate(fba_returns=EXAMPLES / "synthetic_fba_returns.txt", orders=rep_orders)
    e = cal.estimates.set_index(["parameter", "item_class"])
    assert ("return_rate", "all") in e.index and ("orders_per_day", "all") in e.index
    text = cal.to_scenario(base=SEED_SCENARIO)
    raw = tomllib.loads(text)
    base = tomllib.loads(SEED_SCENARIO.read_text())
    # the base's class rates scaled together, each written to 4 decimals (off by up to 5e-5);
    # the scale read back from the first rate is off by up to 5e-5 / old[0], times each old rate
    new = np.array([raw["catalog"][c]["return_rate"] for c in base["catalog"]])
    old = np.array([base["catalog"][c]["return_rate"] for c in base["catalog"]])
    rounding = 5e-5 * (1 + old / old[0]) + 1e-12
    assert (np.abs(new - old * new[0] / old[0]) <= rounding).all()
    assert not np.allclose(new, old, atol=1e-4)


@pytest.mark.parametrize(
    ("bands", "reports"),
    [((20, 50), ("mfn_returns",)), ((25, 60), ("mfn_returns", "fba_returns")), ((30,), ("fba_returns",))],
)
def test_the_capped_misreport_rate_holds_for_the_mix_as_written(bands, reports):
    """The cap is that of the stated mix as written (shares to 4 decimals): from the fitted
    shares it allowed 0.0938 where the written Returns-report mix holds 0.0937, and the
    calibrated scenario of the shipped reports in price bands 20, 50 failed its own validation
    (so did 25, 60 with both reports)."""
    files = {k: EXAMPLES / f"synthetic_{k}.txt" for k in ("orders", *reports)}
    cal = calibrate(**files, price_bands=list(bands))
    sc = rs.parse_scenario(tomllib.loads(cal.to_scenario(base=SEED_SCENARIO)))  # validates
    base = rs.load_scenario(SEED_SCENARIO)
    for cls in sc.catalog.values():
        if cls.share > 0:
            assert sc.returns.misreport_rate <= feasible_misreport_rate(dict(cls.reasons), sc)
    assert sc.returns.misreport_rate <= base.returns.misreport_rate


def test_misreport_rate_is_capped_where_the_stated_mix_cannot_hold_it():
    """A stated mix with few seller-fault claims cannot come from many misreports: the writer
    caps the rate where the model's own check (a stated share too small for the misreports
    landing on it) would refuse the scenario."""
    # One misreport target (the seed spreads them over a mix, which the writer weighs the same way).
    sc = rs.load_scenario(SEED_SCENARIO, overrides={"returns.misreport_as": "not_as_described"})
    stated = {"not_as_described": 0.05, "no_longer_needed": 0.95}
    cap = feasible_misreport_rate(stated, sc)
    assert cap == pytest.approx(0.05 / (0.05 + 0.95))
    raw = tomllib.loads(SEED_SCENARIO.read_text())
    raw["returns"]["misreport_as"] = "not_as_described"
    cls = next(iter(raw["catalog"]))
    raw["catalog"][cls]["reasons"] = stated
    raw["catalog"][cls]["reasons_are"] = "stated"
    raw["returns"]["misreport_rate"] = cap * 0.99
    rs.Scenario.model_validate(raw)  # just inside: valid
    raw["returns"]["misreport_rate"] = min(0.99, cap * 1.5)
    with pytest.raises(ValueError, match="misreport"):
        rs.Scenario.model_validate(raw)


def test_stated_mix_of_a_true_mix_moves_misreports_to_their_target():
    raw = tomllib.loads(SEED_SCENARIO.read_text())
    for c in raw["catalog"].values():
        c["reasons_are"] = "true"
    sc = rs.Scenario.model_validate(raw)
    rho = sc.returns.misreport_rate
    assert rho > 0
    for cls, c in sc.catalog.items():
        out = stated_mix(sc, cls)
        assert sum(out.values()) == pytest.approx(1.0)
        for r, share in c.reasons.items():
            if sc.reasons[r].fault == "buyer":
                assert out[r] == pytest.approx(share * (1 - rho))


def test_the_calibrated_scenario_reproduces_what_was_fitted(tmp_path):
    """Fitted stated reason shares and return rates come back out of the model run on the
    calibrated scenario (this fails if the model's reason-mix semantics change without the
    writer's conversion following)."""
    sc = rs.load_scenario(SEED_SCENARIO, overrides={"demand.orders_per_day": 60})
    rep = synthetic_reports(sc, "seed", seed=4, months=12)
    cal = calibrate(**rep.sources(), base=rep.scenario)
    path = tmp_path / "cal.toml"
    cal.to_scenario(base=SEED_SCENARIO, path=path)
    run = rs.simulate(rs.load_scenario(path, overrides={"demand.orders_per_day": 600, "retention.feedback_into_demand": False}), "seed", seed=1, trace=True)
    tr = run.trace
    e = cal.estimates
    rows = e[e["parameter"].str.startswith("reason_share:") & (e["item_class"] != "all")]
    z = []
    for r in rows.itertuples():
        sub = tr[tr["item_class"] == r.item_class]
        p_run = float((sub["stated_reason"] == r.parameter.split(":")[1]).mean())
        se_fit = (r.ci_high - r.ci_low) / (2 * 1.96)
        se_run = np.sqrt(max(p_run * (1 - p_run), 1e-4) / len(sub))
        z.append((r.estimate - p_run) / np.hypot(se_fit, se_run))
    z = np.abs(np.array(z))
    assert z.max() <= stats.norm.ppf(1 - 0.0005 / len(z)), z.max()
    # and the classes' return rates
    by_class = tr["item_class"].value_counts()
    orders = run.kpis["orders"]
    shares = {c: rs.load_scenario(path).catalog[c].share for c in by_class.index}
    rr = e[(e["parameter"] == "return_rate") & (e["item_class"] != "all")].set_index("item_class")
    total = sum(shares.values())
    for c, k in by_class.items():
        n = orders * shares[c] / total
        se = np.hypot((rr.loc[c, "ci_high"] - rr.loc[c, "ci_low"]) / 3.92, np.sqrt(k) / n)
        assert abs(k / n - rr.loc[c, "estimate"]) <= stats.norm.ppf(1 - 0.0005 / 3) * se
