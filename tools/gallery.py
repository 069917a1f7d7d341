"""Draw the figures of docs/gallery.md (the report's charts, the trace figures and the lab).

    .venv/bin/python tools/gallery.py        # rewrites docs/gallery/*.png (about 20 s)

The figures come from ``returnsim.plots`` on the seed scenario (a quarter of a year, 8 paired
replications, seed 0), so the gallery shows what the report and the notebooks draw.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import returnsim as rs  # noqa: E402
from returnsim import plots  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "gallery"


def save(fig, name: str) -> None:
    fig.savefig(OUT / f"{name}.png", dpi=72, bbox_inches="tight")
    plt.close(fig)
    print("wrote", (OUT / f"{name}.png").relative_to(OUT.parent.parent))


def main() -> None:
    OUT.mkdir(exist_ok=True)
    sc = rs.load_scenario(rs.shipped("seed_policies.toml"), overrides={"horizon_days": 90})
    policies = ["seed", "free_returns", "auto_authorise", "cost_optimal"]
    exp = rs.run_experiment(sc, policies, replications=8, seed=0, workers=1, progress=False)
    summary, compare = exp.summary(), exp.compare(baseline="seed")

    fig, ax = plt.subplots(figsize=(7.5, 4))
    plots.cost_breakdown(plots.mean_runs(exp.runs, policies), ax=ax, currency=sc.currency)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8, frameon=False)
    save(fig, "cost_breakdown")

    fig, ax = plt.subplots(figsize=(7.5, 3))
    plots.forest(compare, "policy_profit_per_order", ax=ax, currency=sc.currency)
    save(fig, "paired_differences")

    fig, ax = plt.subplots(figsize=(7.5, 3))
    plots.kpi_bars(summary, "policy_profit_per_order", ax=ax, highlight="seed", currency=sc.currency)
    save(fig, "profit_per_order")

    runs = {p: rs.simulate(sc, p, seed=0, trace=True) for p in policies}
    fig, ax = plt.subplots(figsize=(7.5, 4))
    plots.response_times({p: r.trace for p, r in runs.items()}, ax=ax)
    save(fig, "response_times")
    fig, ax = plt.subplots(figsize=(7.5, 3.5))
    plots.outcome_mix(runs, ax=ax)
    save(fig, "outcome_mix")

    lab = rs.run_experiment(sc, ["seed", "free_returns"], replications=8, seed=0, workers=1, progress=False)
    save(plots.lab_dashboard(lab, "seed", "free_returns", currency=sc.currency), "lab")


if __name__ == "__main__":
    main()
