"""Commands that decide: ``select``, ``sweep``, ``optimize`` and ``psa``.

Each wraps one study of :mod:`returnsim.decide`; a mistake in the arguments (an indifference
zone of zero, an unknown metric or lever, a design of no points, a range that makes the scenario
invalid) is printed as a user error, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..files import write_atomically
from . import common
from .common import UserError, load, positive_int, scenario_args, seed_int

__all__ = ["register"]

# returnsim.decide.designs.DESIGNS, written out so that parsing the command line does not load
# the study machinery (numpy, scipy, pandas); tests/test_cli_vocabulary.py checks they agree.
SWEEP_DESIGNS = ("grid", "lhs", "sobol", "halton", "random")

_STORE_HELP = "SQLite results store: commits each run, resumes a killed study"


def _user_errors(args: argparse.Namespace) -> contextlib.AbstractContextManager[None]:
    """:func:`common.user_errors`, with a study's own errors (:class:`DecideError`) as well."""
    from ..decide import DecideError

    return common.user_errors(args, DecideError)


def _check_outputs(args: argparse.Namespace, **kinds: str) -> None:
    """Refuse an output location that cannot be written before a long study starts, not after
    (``kinds``: option name -> ``"file"`` or ``"dir"``, as :func:`common.check_writable`)."""
    for name, kind in kinds.items():
        if getattr(args, name, None):
            common.check_writable(getattr(args, name), f"--{name}", kind)


def _where(args: argparse.Namespace) -> dict[str, Any]:
    progress = common.show_progress(args)
    return {
        "seed": args.seed,
        "store": args.store,
        "scheduler": args.scheduler,
        "workers": args.workers,
        "progress": progress,
    }


def _fmt(x: float, digits: int = 4) -> str:
    return "-" if x != x else f"{x:.{digits}g}"


def _amount(metric: str, x: float, currency: str, sign: bool = False) -> str:
    """``x`` in the metric's unit: money with the scenario's currency (``$0.0329``), shares in
    percent (differences in percentage points), three significant digits at least."""
    import math

    from ..output.labels import fmt_money
    from ..output.labels import metric as metric_info

    if x != x:
        return "-"
    m = metric_info(metric)
    digits = max(2, 2 - math.floor(math.log10(abs(x)))) if x else 2
    if m.unit == "money":
        return fmt_money(x, currency, min(digits, 4), sign=sign)
    if m.unit == "share":
        scaled = x * 100
        d = min(max(1, 2 - math.floor(math.log10(abs(scaled)))) if scaled else 1, 3)
        return f"{scaled:{'+' if sign else ''}.{d}f} {'pp' if sign else '%'}"
    return f"{x:{'+' if sign else ''}.4g}"


def _table(header: list[str], rows: list[list[str]], title: str = "") -> str:
    from ..output.tables import format_table

    return format_table(header, rows, title)


# --------------------------------------------------------------------------------------------
# select


def cmd_select(args: argparse.Namespace) -> int:
    from ..decide import assess, select_best

    sc = load(args)
    _check_outputs(args, output="file")
    if args.output and args.baseline and args.baseline not in (names := args.policy or list(sc.policies)):
        raise UserError(f"--baseline {args.baseline!r} is not among the policies: {', '.join(names)}")
    with _user_errors(args):
        sel = select_best(
            sc, args.policy, args.metric, args.indifference, args.confidence, goal=args.goal,
            first_stage=args.first_stage, max_replications=args.max_replications, **_where(args),
        )
    rows = [
        [
            str(r.policy), _amount(args.metric, r["mean"], sc.currency), str(int(r.n)), str(r.status),
            "" if r.status == "selected" else (
                f"{_amount(args.metric, r.advantage, sc.currency)} ({_amount(args.metric, r.ci_low, sc.currency)} "
                f"to {_amount(args.metric, r.ci_high, sc.currency)})"),
        ]
        for _, r in sel.table.sort_values("mean", ascending=sel.goal == "min", kind="stable").iterrows()
    ]
    print(_table(["policy", args.metric, "replications", "status", "leader ahead by (CI)"], rows,
                 f"Selection of the best policy by {args.metric} (Kim & Nelson's KN)"))
    print()
    print(sel.summary())
    tuning = _tune(args, sc)
    if sel.runs is not None and len(sel.replications) > 1:
        import textwrap

        from ..output.headline import decision_text

        # The decision in two parts (cost only, with retention), from the selection's runs.
        exp = sel.experiment()
        base = args.baseline if args.baseline in exp.policies else exp.policies[0]
        text = decision_text(
            exp, sc, base, sc.currency, selection=sel if sel.metric == "policy_profit_per_order" else None, tuning=tuning
        )
        if text:
            print()
            print(textwrap.fill(text, width=min(common.terminal_width(), 100)))
    where = "this process" if sel.executor == "serial" else sel.executor
    print(f"ran on {where} in {sel.elapsed_seconds:.1f} s"
          + (f"; {sel.from_store} replications read from {args.store}" if args.store else ""))
    if args.output:
        from ..output.report import write_report

        with _user_errors(args):
            decision = assess(
                sc, sel, draws=args.draws, tornado_replications=args.tornado_replications, **_where(args)
            )
        exp = sel.experiment()
        baseline = args.baseline or exp.policies[0]
        path = write_report(exp, sc, args.output, baseline, args.command_line, decision, tuning)
        print(f"wrote {path}")
    return 0


def _tune(args: argparse.Namespace, sc: Any) -> Any:
    """``--tune policies.P.PATH=LO:HI``: optimise that lever of policy P on profit per order, so
    that the verdict says whether tuning it beats switching policy (None without ``--tune``)."""
    if not args.tune:
        return None
    from ..decide import optimize

    parts = args.tune.split("=", 1)[0].split(".")
    if len(parts) < 3 or parts[0] != "policies" or parts[1] not in sc.policies:
        raise UserError(
            f"--tune expects a lever of one of the policies, policies.NAME.PATH=LO:HI "
            f"(e.g. policies.giveaway_small.returnless.0.when.price_max=5:60), got {args.tune!r}"
        )
    with _user_errors(args):
        opt = optimize(sc, parts[1], [args.tune], "policy_profit_per_order", replications=args.tune_replications, **_where(args))
    print()
    print(opt.describe())
    return opt


# --------------------------------------------------------------------------------------------
# sweep


def cmd_sweep(args: argparse.Namespace) -> int:
    from ..decide import sweep
    from ..decide.errors import goal_of

    sc = load(args)
    _check_outputs(args, output="file")
    with _user_errors(args):
        goal = goal_of(args.metric, args.goal)  # a metric without a direction fails before the sweep
        res = sweep(
            sc, args.design, args.points, inputs=args.input, vary=args.vary, policies=args.policy,
            replications=args.replications, crn=args.crn, design_seed=args.design_seed, **_where(args),
        )
        means = res.means(args.metric)
    best = means.idxmax(axis=1) if goal == "max" else means.idxmin(axis=1)
    rows = [
        [p, _fmt(means[p].mean()), _fmt(means[p].min()), _fmt(means[p].max()), f"{(best == p).mean():.0%}"]
        for p in res.policies
    ]
    print(
        f"{sc.name}: {len(res.design)} points ({args.design}) x {len(res.policies)} policies x "
        f"{res.replications} replications over {len(res.inputs)} inputs; "
        f"{res.computed} runs simulated, {res.from_store} read from the store, {res.elapsed_seconds:.1f} s"
    )
    print(_table(["policy", f"{args.metric}: mean", "min", "max", "best at"], rows))
    if args.output:
        path = res.to_csv(args.output)
        print(f"wrote {path} (one row per point, policy and replication)")
    return 0


# --------------------------------------------------------------------------------------------
# optimize


def cmd_optimize(args: argparse.Namespace) -> int:
    from ..decide import optimize

    sc = load(args)
    _check_outputs(args, output="file", plot="file")
    with _user_errors(args):
        opt = optimize(
            sc, args.policy, args.lever, args.metric, goal=args.goal, levels=args.levels, refine=args.refine,
            replications=args.replications, **_where(args),
        )
    cols = [i.path for i in opt.levers]
    rows = [[*(_fmt(r[c]) for c in cols), _fmt(r["mean"]), f"{_fmt(r.ci_low)} to {_fmt(r.ci_high)}"]
            for _, r in opt.curve.iterrows()]
    print(_table([*cols, args.metric, "95 % CI"], rows, f"{args.metric} of {args.policy} ({opt.replications} replications each)"))
    print()
    print(opt.describe())
    if args.output:
        write_atomically(args.output, lambda p: opt.curve.to_csv(p, index=False, float_format="%.17g"))
        print(f"wrote {args.output}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from ..output import plots

        fig: Any = plots.optimum_curve(opt).figure
        kind = Path(args.plot).suffix.lstrip(".") or "png"  # the temporary name ends in .part
        write_atomically(args.plot, lambda p: fig.savefig(p, format=kind, dpi=110, bbox_inches="tight"))
        print(f"wrote {args.plot}")
    return 0


# --------------------------------------------------------------------------------------------
# psa


def cmd_psa(args: argparse.Namespace) -> int:
    from ..decide import psa

    sc = load(args)
    _check_outputs(args, out="dir")
    with _user_errors(args):
        res = psa(
            sc, args.draws, args.policy, args.metric, goal=args.goal, inputs=args.input,
            replications=args.replications, design=args.design, method=args.method, min_fit=args.min_fit,
            **_where(args),
        )
        s = res.summary()
        voi = res.evppi()
    rows = [
        [str(r.policy), _fmt(r["mean"]), f"{r.p_best:.0%} ({r.p_best_low:.0%} to {r.p_best_high:.0%})", _fmt(r.expected_loss, 3)]
        for _, r in s.sort_values("p_best", ascending=False, kind="stable").iterrows()
    ]
    print(f"{sc.name}: {res.draws} draws of {len(res.specs)} uncertain inputs x {len(res.policies)} policies "
          f"x {res.replications} replications")
    for note in res.notes:  # with --method emulator: how the statistics were computed, or why not
        print(f"note: {note}")
    print(_table(["policy", f"{args.metric}: mean", "probability best (95 % CI)", "expected loss"], rows))
    lo, hi = res.evpi_ci()
    from ..output.labels import label

    print(f"\nexpected value of perfect information: {_fmt(res.evpi, 3)} ({_fmt(lo, 3)} to {_fmt(hi, 3)}), "
          f"in the units of {label(args.metric, sc.currency)}")
    top = voi[voi.evppi > 0].head(args.top)
    if len(top):
        print(_table(["input or group", "EVPPI", "95 % CI", "share of EVPI"],
                     [[f"{r['name']}{' (group)' if r.kind == 'group' else ''}", _fmt(r.evppi, 3),
                       f"{_fmt(r.ci_low, 3)} to {_fmt(r.ci_high, 3)}", f"{r.share_of_evpi:.0%}"] for _, r in top.iterrows()],
                     "\nWhat is worth measuring first (expected value of partial perfect information)"))
    else:
        print("no input alone is worth measuring: the choice does not depend on any of them")
    if args.out:
        out = Path(args.out)  # checked and created before the draws
        write_atomically(out / "psa_summary.csv", lambda p: s.to_csv(p, index=False))
        write_atomically(out / "evppi.csv", lambda p: voi.to_csv(p, index=False))
        write_atomically(out / "psa_runs.csv", lambda p: res.runs.to_csv(p, index=False, float_format="%.17g"))
        print(f"wrote {out / 'psa_summary.csv'}, {out / 'evppi.csv'}, {out / 'psa_runs.csv'}")
    return 0


# --------------------------------------------------------------------------------------------
# arguments


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _metric_args(sp: argparse.ArgumentParser, default: str = "policy_profit_per_order") -> None:
    sp.add_argument("--metric", default=default, help=f"KPI or ledger category to rank by (default {default})")
    sp.add_argument("--goal", choices=("max", "min"), help="maximise or minimise (default: from the metric)")


def _add(sub: Any, name: str, help: str, func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    sp = sub.add_parser(name, help=help, description=help)
    scenario_args(sp)
    sp.set_defaults(func=func)
    return sp


def register(sub: Any) -> None:
    """Add ``select``, ``sweep``, ``optimize`` and ``psa`` to the ``returnsim`` subcommands."""
    sp = _add(sub, "select", "select the best policy with a guarantee (Kim & Nelson's KN, common random numbers)", cmd_select)
    sp.add_argument("--policy", action="append", metavar="P", help="a policy to choose from (repeatable; default all)")
    _metric_args(sp)
    sp.add_argument("--indifference", type=_number, default=0.05, metavar="D",
                    help="smallest difference worth acting on, in the metric's units (default 0.05)")
    sp.add_argument("--confidence", type=_number, default=0.95, help="probability of selecting the best when it leads by D (default 0.95)")
    sp.add_argument("--first-stage", type=positive_int, default=20, metavar="N", help="replications of every policy before any is dropped (default 20)")
    sp.add_argument("--max-replications", type=positive_int, default=2000, metavar="N", help="budget per policy (default 2000)")
    common.output_file(sp, "also write the HTML report, with How sure is this?", metavar="FILE.html", old=["--report"])
    sp.add_argument("--baseline", metavar="P", help="policy the report compares against (default: the first)")
    sp.add_argument("--draws", type=int, default=48, metavar="N",
                    help="with --output: draws of the uncertain inputs for the probability best (default 48; 0 skips)")
    sp.add_argument("--tornado-replications", type=int, default=2, metavar="N",
                    help="with --output: replications per tornado point (default 2; 0 skips)")
    sp.add_argument("--tune", metavar="policies.P.PATH=LO:HI",
                    help="also optimise this lever of policy P on profit per order: the verdict says "
                    "whether tuning it beats switching policy")
    sp.add_argument("--tune-replications", type=positive_int, default=10, metavar="N",
                    help="with --tune: replications per lever value (default 10)")
    common.where_args(sp, _STORE_HELP)

    sp = _add(sub, "sweep", "run policies over a design of input values (results as one tidy CSV)", cmd_sweep)
    sp.add_argument("--design", choices=SWEEP_DESIGNS, default="lhs", help="grid, lhs (default), sobol, halton or random")
    sp.add_argument("--points", type=int, default=64, metavar="N", help="points of a sampled design; levels per input of a grid (default 64)")
    sp.add_argument("--vary", action="append", metavar="PATH=LO:HI[:N]", help="vary a number over a range (N: grid levels; repeatable)")
    sp.add_argument("--input", action="append", metavar="PATH", help="an input of the scenario's [uncertainty] table (repeatable; default all)")
    sp.add_argument("--policy", action="append", metavar="P", help="a policy to run (repeatable; default all)")
    sp.add_argument("--replications", type=positive_int, default=1, metavar="N", help="replications per point and policy (default 1)")
    sp.add_argument("--crn", choices=("common", "independent"), default="common",
                    help="common: every point uses the same replications (default); independent: each point its own")
    sp.add_argument("--design-seed", type=seed_int, metavar="S", help="seed of the design's points (default: --seed)")
    _metric_args(sp)
    common.output_file(sp, "write the tidy runs as CSV", metavar="FILE.csv", old=["--out"])
    common.where_args(sp, _STORE_HELP)

    sp = _add(sub, "optimize", "the best value of one or two numeric levers of a policy, with a confidence interval", cmd_optimize)
    sp.add_argument("--policy", required=True, metavar="P", help="the policy whose metric is optimised")
    sp.add_argument("--lever", action="append", required=True, metavar="PATH=LO:HI",
                    help="a number to optimise over a range, e.g. policies.giveaway_small.returnless.0.when.price_max=5:60 (one or two)")
    _metric_args(sp)
    sp.add_argument("--levels", type=int, default=9, metavar="N", help="values per lever on each grid (default 9)")
    sp.add_argument("--refine", type=int, default=1, metavar="N", help="rounds of a finer grid around the best (default 1)")
    sp.add_argument("--replications", type=positive_int, default=10, metavar="N", help="replications per value (default 10)")
    common.output_file(sp, "write the curve as CSV", metavar="FILE.csv", old=["--out"])
    sp.add_argument("--plot", metavar="FILE", help="draw the curve to a PNG file")
    common.where_args(sp, _STORE_HELP)

    sp = _add(sub, "psa", "probabilistic sensitivity analysis: probability best, expected loss, EVPI and EVPPI", cmd_psa)
    sp.add_argument("--draws", type=int, default=200, metavar="N", help="draws of the uncertain inputs (default 200)")
    sp.add_argument("--policy", action="append", metavar="P", help="a policy to compare (repeatable; default all)")
    sp.add_argument("--input", action="append", metavar="PATH", help="an input of [uncertainty] (repeatable; default all)")
    sp.add_argument("--replications", type=positive_int, default=1, metavar="N", help="replications per draw and policy (default 1)")
    sp.add_argument("--design", choices=("lhs", "sobol", "halton", "random"), default="lhs", help="how inputs are drawn (default lhs)")
    sp.add_argument("--top", type=positive_int, default=8, metavar="N", help="inputs shown by value of information (default 8)")
    sp.add_argument("--method", choices=("sampling", "emulator"), default="sampling",
                    help="sampling (default): statistics over the simulated draws; emulator: over 10,000 draws of "
                         "Gaussian-process emulators of them when their leave-one-out Q² passes --min-fit, else "
                         "the simulated draws (the output says which; needs scikit-learn)")
    sp.add_argument("--min-fit", type=_number, default=None, metavar="Q2",
                    help="with --method emulator, the leave-one-out Q² each emulator needs (default 0.9, assumed)")
    _metric_args(sp)
    sp.add_argument("--out", metavar="DIR", help="write psa_summary.csv, evppi.csv and psa_runs.csv here")
    common.where_args(sp, _STORE_HELP)
