"""``returnsim desk-fix``: when no policy meets Amazon's account-health targets, why, and the
smallest desk change that does (issue 18, item 6; :func:`returnsim.decide.desk_fix`)."""

from __future__ import annotations

import argparse
from typing import Any

from . import common
from .common import UserError, load, positive_int, scenario_args, seed_int

__all__ = ["register"]


def _pct(v: tuple[float, float, float] | None) -> str:
    if v is None:
        return "-"
    m, lo, hi = v
    return f"{m * 100:.1f} % ({lo * 100:.1f}-{hi * 100:.1f})"


def cmd_desk_fix(args: argparse.Namespace) -> int:
    from ..decide import DecideError, desk_fix
    from ..experiment import run_experiment
    from ..output.answer import answer
    from ..output.tables import format_table

    sc = load(args)
    if args.output:
        common.check_writable(args.output, "--output", "file")
    names = common.policies(sc, args.policy)
    if args.baseline is not None and args.baseline not in names:
        raise UserError(f"--baseline {args.baseline!r} is not among the policies: {', '.join(names)}")
    if args.fix_policy is not None and args.fix_policy not in sc.policies:
        raise UserError(f"--fix-policy {args.fix_policy!r} is not in the scenario; expected one of: {', '.join(sc.policies)}")
    where: dict[str, Any] = {"workers": args.workers, "progress": common.show_progress(args)}
    with common.user_errors(args, DecideError):
        exp = run_experiment(sc, names, args.replications, args.seed, **where)
        ans = answer(exp)
        health = ans.health
        if not health.none_admissible and args.fix_policy is None:
            print(ans.text(sc.currency))
            print(f"\n{', '.join(health.admissible)} meet every Amazon account-health target with the desk as it is: "
                  "no desk change is needed (--fix-policy P searches one for a given policy anyway).")
            return 0
        target = args.fix_policy or ans.best
        fix = desk_fix(
            sc, target, replications=args.replications, seed=args.seed, metric=ans.metric, windows=args.windows,
            max_candidates=args.max_candidates, **where,
        )
    health.fix = fix
    print(ans.text(sc.currency) if health.none_admissible else f"{target}: {fix.text()}.")
    def cells(v: dict[str, tuple[float, float, float]], ok: bool) -> list[str]:
        return [_pct(v.get("rdr")), _pct(v.get("rdr_window_max")), _pct(v.get("odr")), "yes" if ok else "no"]

    def change(v: tuple[float, float, float] | None) -> str:
        return "-" if v is None else f"{v[0]:+.3f} ({v[1]:+.3f} to {v[2]:+.3f})"

    rows = [["desk as it is", "0", "-", *cells(fix.before.values, fix.before.admissible), "-"]] + [
        [t.change.label, f"{t.change.agent_hours:g}", f"{sc.currency}{t.labour_per_order:,.3f}",
         *cells(t.judgement.values, t.judgement.admissible), change(t.metric_change)]
        for t in fix.tried
    ]
    print()
    print(format_table(
        ["desk", "agent h/week", "per order", "RDR (95 % CI)", "RDR worst 60 days", "ODR (95 % CI)", "meets",
         f"{fix.metric} change (CI)"], rows,
        f"{target}: desk changes tried, cheapest first ({fix.replications} replications each, seed {fix.seed}, "
        "common random numbers; meets: the upper end of each 95 % interval below Amazon's target; per order: "
        f"the added agent hours' wages; the {fix.metric} change, paired with the desk as it is, leaves them out)",
    ))
    if fix.needed and fix.found is None:
        print(f"\nno candidate met the targets; {len(fix.untried)} larger ones were not tried (--max-candidates)")
    if args.output:
        from ..output.report import write_report

        # The report's answer reads the fix from the result (output.answer), so it shows the
        # cause and the fix in the same sentence as the terminal.
        setattr(exp, "desk_fix", fix)  # noqa: B010
        print(f"wrote {write_report(exp, sc, args.output, args.baseline or names[0], args.command_line)}")
    return 0


def register(sub: Any) -> None:
    """Add ``desk-fix`` to the ``returnsim`` subcommands."""
    help = "when no policy meets Amazon's account-health targets: the cause and the smallest desk change that does"
    sp = sub.add_parser("desk-fix", help=help, description=help)
    scenario_args(sp)
    sp.set_defaults(func=cmd_desk_fix)
    sp.add_argument("--policy", action="append", metavar="P", help="a policy to compare (repeatable; default all)")
    sp.add_argument("--fix-policy", metavar="P",
                    help="search a desk change for this policy (default: the answer's best, and only when no policy meets the targets)")
    sp.add_argument("--replications", type=positive_int, default=20, metavar="N",
                    help="replications per policy and per desk change tried (default 20)")
    sp.add_argument("--windows", action="store_true",
                    help="the fix must also bring the mean worst 60-day window below each target (the answer judges means)")
    sp.add_argument("--max-candidates", type=positive_int, default=12, metavar="N",
                    help="desk changes to try at most, cheapest first (default 12)")
    common.output_file(sp, "also write the HTML report, whose answer names the cause and the fix", metavar="FILE.html")
    sp.add_argument("--baseline", metavar="P", help="policy the report compares against (default: the first)")
    sp.add_argument("--seed", type=seed_int, default=0, help="base seed; replication r uses SeedSequence([seed, r]) (default 0)")
    sp.add_argument("--workers", type=positive_int, metavar="N", help="worker processes (default: every CPU; 1 runs in this process)")
    sp.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                    help="progress bar on stderr (default: only when stderr is a terminal)")
