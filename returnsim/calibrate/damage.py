"""Damaged copies of reports, for tests and examples: the faults a real export may have."""

from __future__ import annotations

import numpy as np

__all__ = ["damage"]


def damage(text: str, seed: int = 0, rows: int = 6) -> tuple[str, list[str]]:
    """A copy of a tab-separated report with faults a real export may have, and what was done.

    Faults, each on a different data row: an unreadable date, an amount that is not a number, a
    row with a field missing, a duplicated row, an unknown code in the first code-like column,
    and a stray quote opening a field. The header and the rest are untouched.
    """
    rng = np.random.default_rng(seed)
    lines = text.rstrip("\n").split("\n")
    header = lines[0].split("\t")
    lower = [h.lower() for h in header]
    picks = rng.choice(np.arange(1, len(lines)), size=min(rows, len(lines) - 1), replace=False)
    done: list[str] = []

    def col(*names: str) -> int | None:
        return next((lower.index(n) for n in names if n in lower), None)

    date_col = col("return-date", "return request date", "purchase-date")
    money_col = col("item-price", "label cost", "order amount")
    code_col = col("reason", "return reason", "detailed-disposition")
    actions = ["date", "money", "short", "duplicate", "code", "quote"]
    extra: list[str] = []
    for i, what in zip(picks, actions, strict=False):
        f = lines[i].split("\t")
        if what == "date" and date_col is not None:
            f[date_col] = "31/13/2025"
            done.append(f"line {i + 1}: date 31/13/2025")
        elif what == "money" and money_col is not None:
            f[money_col] = "twelve"
            done.append(f"line {i + 1}: amount 'twelve'")
        elif what == "short":
            f = f[:-2]
            done.append(f"line {i + 1}: two fields missing")
        elif what == "duplicate":
            extra.append(lines[i])
            done.append(f"line {i + 1}: duplicated at the end")
        elif what == "code" and code_col is not None:
            f[code_col] = "SYN_NEW_CODE"
            done.append(f"line {i + 1}: unknown code SYN_NEW_CODE")
        elif what == "quote":
            j = next((k for k, h in enumerate(lower) if h in ("product-name", "item name")), 2)
            f[j] = '"' + f[j]
            done.append(f"line {i + 1}: stray quote opening a field")
        lines[i] = "\t".join(f)
    return "\n".join(lines + extra) + "\n", done
