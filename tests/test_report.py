"""The HTML report: standalone, leads with the answer, carries the evidence, reads on a phone.

The layout is checked in a real browser (Debian's ``chromium``, headless) at 390 px (a phone)
and 1280 px (a laptop): the report is loaded into an iframe of that width and a script measures
every element; anything that sticks out of the page, other than inside a box that scrolls
sideways on purpose, is clipped. The same script measures every text of every chart as drawn
(its font size times the scale the page draws the chart at): none may be under 11 CSS px.
``make test`` installs chromium when it is missing; without it this test fails rather than
skips.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import SEED_SCENARIO, run_cli

import returnsim as rs
from returnsim.output.labels import CATEGORY_LABELS, label, metric
from returnsim.output.plots.screen import MIN_TEXT_PX
from returnsim.output.policy_labels import policy_label
from returnsim.output.report import HEADLINE, render_report
from returnsim.output.tables import SHOWN_KPIS


@pytest.fixture(scope="module")
def small():
    # Negative feedback made common, so every policy breaks Amazon's RDR target.
    sc = rs.load_scenario(
        SEED_SCENARIO,
        overrides={"horizon_days": 30, "currency": "€", "retention.negative_feedback.intercept": -1.0},
    )
    res = rs.run_experiment(sc, ["seed", "free_returns", "cost_optimal"], replications=3, seed=1, progress=False, workers=1)
    return sc, res


@pytest.fixture(scope="module")
def report(small) -> str:
    sc, res = small
    return render_report(res, sc, baseline="seed", command="returnsim report x -o y")


@pytest.fixture(scope="module")
def full_report(small) -> str:
    """The report with every chart, "How sure is this?"'s tornado included: a selection replayed
    on the replications and a tornado of the scenario's own uncertain inputs (made up swings,
    the real names: the layout is what is checked)."""
    from types import SimpleNamespace

    from returnsim.decide import replay
    from returnsim.decide.inputs import study_inputs
    from returnsim.decide.sensitivity import Tornado

    sc, res = small
    ins = study_inputs(sc, None, None)[:12]
    swing = [0.05 * (12 - i) for i in range(len(ins))]
    table = pd.DataFrame({
        "input": [i.path for i in ins], "label": [i.label for i in ins],
        "low": [i.swing[0] for i in ins], "high": [i.swing[1] for i in ins],
        "at_low": [-0.2 - s for s in swing], "at_high": [-0.2 + s for s in swing],
        "swing": swing, "flips": [s > 0.2 for s in swing],
    })
    tor = Tornado(table, base=-0.2, base_half_width=0.05, metric="policy_profit_per_order",
                  policies=["cost_optimal", "seed"], replications=2, runs=pd.DataFrame())
    decision = SimpleNamespace(selection=replay(res.runs, first_stage=3), tornado=tor, psa=None, breakevens=[], notes=[])
    return render_report(res, sc, baseline="seed", decision=decision)


def test_report_is_standalone_and_complete(small, report):
    sc, res = small
    text = report
    # No external resources: every chart is inline SVG, nothing is fetched.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
    charts = re.findall(r'<div class="chart" role="img" aria-label="[^"]+"><svg [^>]*viewBox=', text)
    assert len(charts) == 3 and "<img" not in text
    # The answer first: the best policy by profit per order, named in the verdict.
    best = res.summary().query("metric == 'policy_profit_per_order'").set_index("policy")["mean"].idxmax()
    verdict = text[text.index('class="verdict"'): text.index("</div>")]
    assert "Answer" in verdict and html.escape(policy_label(sc, best)) in verdict and "95 % CI" in verdict
    for policy in res.policies:
        assert policy in text
    assert "returnsim report x -o y" in text


def test_report_reads_for_a_seller(small, report):
    sc, res = small
    body = report.split("<body>", 1)[1]
    visible = re.sub(r"<[^>]+>", " ", body.split("<details>")[0] + body.split("</details>")[1])
    # Human labels, not internal ids, wherever a reader looks (tables and text)
    for internal in ("rdr", "seller_freight", "policy_profit_per_order", "repeat_purchase_rate"):
        assert not re.search(rf"\b{internal}\b", visible), internal
    assert "return dissatisfaction rate" in visible and "profit per order the returns policy changes (€)" in visible
    # the scenario's currency
    assert "€" in verdict_text(report) and "$" not in verdict_text(report)
    # each policy's description beside its name in the differences table
    diff_table = report.split("<h2>Differences from", 1)[1].split("<details>")[0]
    for p in ("free_returns", "cost_optimal"):
        assert html.escape(sc.policies[p].description) in diff_table
    # p-values only in the collapsed details
    details = report.split("<details>", 1)[1].split("</details>")[0]
    assert ": p</th>" in details and ": p</th>" not in report.replace(details, "")
    # health warnings shown
    warning = report.split('class="warning"', 1)[1].split("</div>")[0]
    assert "return dissatisfaction rate" in warning and "target of 10%" in warning
    assert "viewport" in report.split("</head>")[0]


def test_cost_chart_legend_uses_plain_words():
    import matplotlib

    matplotlib.use("Agg")
    from types import SimpleNamespace

    from returnsim import plots

    runs = {"a": SimpleNamespace(ledger={"refunds": 10.0, "seller_freight": 2.0, "recovered_value": 5.0},
                                 kpis={"demand_orders": 1.0, "return_requests": 1.0})}
    ax = plots.cost_breakdown(runs)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert CATEGORY_LABELS["seller_freight"] in labels and "seller_freight" not in labels


def verdict_text(report: str) -> str:
    return report[report.index('class="verdict"'): report.index("</div>")]


# --------------------------------------------------------------------------------------------
# the layout, in a real browser

PROBE = """<!doctype html><html><body style="margin:0">
<iframe id="f" style="width:%dpx;height:900px;border:0" srcdoc="%s"></iframe>
<script>
document.getElementById('f').addEventListener('load', function () {
  var w = this.contentWindow, d = this.contentDocument, W = w.innerWidth, bad = [];
  d.querySelectorAll('body *').forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.width === 0) return;
    if (el.closest('.scroll') && !el.classList.contains('scroll')) return;  // scrolls on purpose
    if (r.right > W + 1 || r.left < -1) bad.push(el.tagName + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
  });
  // Each chart's text as a reader sees it: the font size in the SVG's units times the scale at
  // which the page draws them (the SVG's rendered width over its viewBox, and any transform).
  var texts = [];
  d.querySelectorAll('.chart svg text').forEach(function (t) {
    var m = t.getScreenCTM(), size = parseFloat(w.getComputedStyle(t).fontSize);
    texts.push({px: size * Math.sqrt(m.a * m.a + m.b * m.b), box: t.getBoundingClientRect().height,
                text: t.textContent.slice(0, 40)});
  });
  texts.sort(function (a, b) { return a.px - b.px; });
  var charts = Array.from(d.querySelectorAll('img, .chart svg'));
  var out = {width: W, page: d.documentElement.scrollWidth, clipped: bad.slice(0, 10),
             images: charts.map(function (i) { return i.getBoundingClientRect().width; }),
             svgs: d.querySelectorAll('.chart svg').length, texts: texts.length, smallest: texts.slice(0, 3)};
  var pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script></body></html>"""


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed: `make test` installs it (apt-get install chromium)")
    return path


def _layout(page: str, width: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.html"
        probe.write_text(PROBE % (width, html.escape(page, quote=True)), encoding="utf-8")
        proc = subprocess.run(
            [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp}/profile", "--window-size=1400,1000", "--virtual-time-budget=15000",
             "--dump-dom", probe.as_uri()],
            capture_output=True, text=True, timeout=120,
        )
    m = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout)
    assert m, f"chromium printed no measurement (exit {proc.returncode}): {proc.stderr[-500:]}"
    return json.loads(html.unescape(m.group(1)))


def test_how_sure_names_the_metric_by_its_label(full_report):
    # The selection's guarantee is written with the metric's id (what `select --metric` takes);
    # the report a seller reads gives its label instead.
    shown = html.unescape(full_report)
    assert "Guarantee (Kim & Nelson 2001, KN)" in shown
    assert f"mean {metric('policy_profit_per_order').label} is at least" in shown
    assert "mean policy_profit_per_order" not in shown


@pytest.mark.parametrize("width", [390, 1280])
def test_nothing_clipped_and_chart_text_legible_in_a_browser(full_report, width):
    out = _layout(full_report, width)
    assert out["width"] == width
    assert out["page"] <= width, f"the page scrolls sideways at {width} px: {out}"
    assert out["clipped"] == [], out["clipped"]
    assert out["images"] and max(out["images"]) <= width
    # Every chart (three and the tornado) is inline SVG whose text the browser measures; the
    # smallest text, as drawn at this width, is legible.
    assert out["svgs"] == 4 and out["texts"] > 60, out
    assert out["smallest"][0]["px"] >= MIN_TEXT_PX, f"chart text of {out['smallest']} at {width} px"


def test_the_probe_sees_clipping(report):
    # The same report without its scrolling boxes is clipped on a phone: the probe is not blind.
    out = _layout(report.replace('class="scroll"', 'class="plain"'), 390)
    assert out["clipped"] and out["page"] > 390


def test_the_probe_sees_small_chart_text(full_report):
    # Chart text of 10 points in figures as wide as before (the report's old PNG charts were
    # 8 points in figures 7.5 to 9 inches wide) reads under 11 px on a phone: the probe is
    # not blind to it.
    small_text = re.sub(r"font-size: [\d.]+px", "font-size: 10px", full_report)
    out = _layout(small_text, 390)
    assert out["texts"] > 60 and out["smallest"][0]["px"] < MIN_TEXT_PX, out["smallest"]


# --------------------------------------------------------------------------------------------
# the command line


NUMBER = re.compile(r"[-+]?\$?\d[\d,]*(?:\.\d+)?")


def numbers(text: str) -> list[tuple[float, float]]:
    """Every number in ``text`` with half a unit of its last shown digit (its rounding)."""
    out = []
    for token in NUMBER.findall(text):
        digits = token.replace("$", "").replace(",", "")
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        out.append((float(digits), 0.5 * 10.0**-decimals + 1e-12))
    return out


def close(shown: tuple[float, float], value: float, scale: float = 1.0) -> bool:
    return abs(shown[0] - value * scale) <= shown[1]


def table_rows(page: str, heading: str) -> dict[str, list[str]]:
    """Rows of the first table after ``heading``: row label -> cell texts (tags stripped)."""
    part = page.split(heading, 1)[1].split("</table>", 1)[0]
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", part, re.S):
        head = re.search(r'<th scope="row">(.*?)(?:<br>|</th>)', tr, re.S)
        if head:
            cells = [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
            rows[html.unescape(head.group(1)).strip()] = cells
    return rows


def test_cli_report_numbers_and_verdict_match_the_csv_files(tmp_path, capsys):
    """``returnsim report`` and ``returnsim run --out`` on the same seed: the report's verdict
    names the policy with the best mean profit per order the returns policy changes in summary.csv and quotes its mean,
    interval and paired difference from comparison.csv; every key figure is summary.csv's mean ±
    half-width, every difference comparison.csv's, to the digits shown; warnings name exactly
    the policies whose RDR or ODR (mean or worst window) reaches Amazon's target."""
    common = [str(SEED_SCENARIO), "--set", "horizon_days=20", "--replications", "3", "--seed", "5", "--no-progress",
              "--policy", "seed", "--policy", "giveaway_small", "--policy", "free_returns", "--baseline", "seed"]
    page_path = tmp_path / "r.html"
    for cmd in (["report", *common, "-o", str(page_path)], ["run", *common, "--out", str(tmp_path / "out")]):
        code, _, err = run_cli(capsys, *cmd)  # in-process: test_cli_report_needs_two_policies starts one
        assert code == 0, err
    page = page_path.read_text(encoding="utf-8")
    other = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")  # the same runs, by `run`
    assert verdict_text(other) == verdict_text(page)
    assert table_rows(other, "<h2>Key figures</h2>") == table_rows(page, "<h2>Key figures</h2>")
    summary = pd.read_csv(tmp_path / "out" / "summary.csv").set_index(["policy", "metric"])
    compare = pd.read_csv(tmp_path / "out" / "comparison.csv").set_index(["policy", "metric"])
    policies = ["seed", "giveaway_small", "free_returns"]

    # The verdict.
    value = summary.xs("policy_profit_per_order", level="metric")
    best = value["mean"].idxmax()
    verdict = html.unescape(re.sub(r"<[^>]+>", "", verdict_text(page)))
    # The headline is the change against the baseline, never the absolute figure.
    sc = rs.load_scenario(SEED_SCENARIO)
    m = re.search(r"Answer(?:, on cost alone and with retention alike| with retention): (.+?), (\S+) profit per order "
                  rf"against {re.escape(policy_label(sc, 'seed'))}, 95 % CI (\S+) to (\S+)\.", verdict)
    assert m, verdict
    assert m.group(1) == policy_label(sc, best) and best != "seed"  # the policies by their labels
    shown = [numbers(g)[0] for g in m.groups()[1:]]
    gap = compare.loc[(best, "policy_profit_per_order")]
    assert close(shown[0], gap["mean_diff"]) and close(shown[1], gap["ci_low"]) and close(shown[2], gap["ci_high"])
    assert f"{abs(value.loc[best, 'mean']):.2f}" not in verdict

    # Key figures: mean ± half-width (or the clipped interval's ends) of summary.csv.
    rows = table_rows(page, "<h2>Key figures</h2>")
    checked = 0
    for key in SHOWN_KPIS:
        lab = label(key, "$")
        if lab not in rows:
            continue
        share = metric(key).unit == "share"
        for policy, cell in zip(policies, rows[lab], strict=True):
            r = summary.loc[(policy, key)]
            nums = numbers(cell)
            scale = 100.0 if share else 1.0
            assert close(nums[0], r["mean"], scale), (key, policy, cell, r["mean"])
            if len(nums) == 1:  # the same value in every replication: no interval shown
                assert r["ci_high"] == r["ci_low"], (key, policy, cell)
            elif "(" in cell:  # clipped at zero: its two ends
                assert close(nums[1], max(r["ci_low"], 0.0), scale) and close(nums[2], r["ci_high"], scale), (key, cell)
            else:
                assert close(nums[1], (r["ci_high"] - r["ci_low"]) / 2, scale), (key, policy, cell)
            checked += 1
    assert checked >= 3 * 15

    # Differences from the baseline: comparison.csv's mean ± half-width (rates in points).
    sc = rs.load_scenario(SEED_SCENARIO)
    diffs = table_rows(page, f"<h2>Differences from {html.escape(policy_label(sc, 'seed'))}</h2>")
    for policy in policies[1:]:
        for key, cell in zip(HEADLINE, diffs[policy_label(sc, policy)], strict=True):
            r = compare.loc[(policy, key)]
            scale = 100.0 if metric(key).unit == "share" else 1.0
            mean, half = numbers(cell)
            assert close(mean, r["mean_diff"], scale) and close(half, (r["ci_high"] - r["ci_low"]) / 2, scale), (policy, key, cell)

    # Account-health warnings: exactly the policies over a target, each called by its label.
    sc = rs.load_scenario(SEED_SCENARIO)
    shown = html.unescape(page)
    warned = {p for p in policies if f"<li>{policy_label(sc, p)}: " in shown}
    assert not any(f"<li>{p}: " in shown for p in policies)
    over = {
        p for p in policies
        if any(summary.loc[(p, k), "mean"] >= t for k, t in (("rdr", 0.10), ("rdr_window_max", 0.10), ("odr", 0.01), ("odr_window_max", 0.01)))
    }
    assert warned == over and over  # the seed policy breaks the RDR target in this short run


def test_cli_report_needs_two_policies(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "returnsim", "report", str(SEED_SCENARIO), "--policy", "seed", "-o", str(tmp_path / "r.html")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2 and "at least two" in proc.stderr and "Traceback" not in proc.stderr


def test_report_says_where_its_replications_came_from(small, report, tmp_path, monkeypatch):
    # A report rewritten from a store (as `returnsim select --report` does in `make demo`) must
    # not claim the run it did not do.
    sc, res = small
    assert "simulated in one process" in report
    # The charts (seconds a report, and checked by the tests above) have nothing to say here.
    from returnsim.output import report as module

    monkeypatch.setattr(module, "_charts", lambda *a, **k: {"cost": "", "forest": None, "value": ""})
    store = tmp_path / "runs.sqlite"
    kw = dict(replications=2, seed=1, progress=False, workers=1, store=store)
    first = rs.run_experiment(sc, ["seed", "free_returns"], **kw)
    again = rs.run_experiment(sc, ["seed", "free_returns"], **kw)
    assert (first.computed, again.computed, again.from_store) == (4, 0, 4)
    assert "read from a results store" in render_report(again, sc, baseline="seed")
    assert "read from a results store" not in render_report(first, sc, baseline="seed")
