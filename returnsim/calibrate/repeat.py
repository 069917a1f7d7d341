"""Brand Analytics' Repeat Purchase Behavior report: how often a seller's buyers come back.

Per ASIN and period (week, month or quarter) the report gives orders, unique customers, the
repeat customers' share and the repeat-purchase revenue (the Selling Partner API's JSON document
``sellingPartnerRepeatPurchaseReport``; the dashboard's download is a CSV with the same measures).
Orders exceed unique customers only through customers who bought again within the period, which
is what :func:`~returnsim.calibrate.stats.repeat_rate` turns into purchases a year, the scenario's
``buyer.purchases_per_year``. This module reads the report and writes synthetic ones for round
trips.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from ..scenario import Scenario
from .readers import Column, ReadProblem, Report, read_report
from .tsv import NotText, Source, read_text

__all__ = ["REPEAT_PURCHASES", "read_repeat_purchases", "repeat_report"]

REPEAT_PURCHASES: tuple[Column, ...] = (
    Column("asin", ("asin",), "text"),
    Column("start_date", ("startdate", "start-date"), "date"),
    Column("end_date", ("enddate", "end-date"), "date"),
    Column("orders", ("orders",), "count"),
    Column("unique_customers", ("uniquecustomers", "unique-customers"), "count"),
    Column("repeat_revenue", ("repeatpurchaserevenue", "repeat-purchase-revenue"), "money"),
)
"""Columns read from Brand Analytics' Repeat Purchase Behavior report (per ASIN and period; the
API's JSON ``dataByAsin`` or the dashboard's CSV)."""


def read_repeat_purchases(source: Source) -> Report:
    """Read a Repeat Purchase Behavior report (Brand Analytics): per ASIN and period, orders and
    unique customers (``docs/calibrate.md``).

    Takes the dashboard's download (comma- or tab-separated, headers such as ``ASIN``,
    ``Start Date``, ``Orders``, ``Unique Customers``) or the Selling Partner API's JSON document
    (``dataByAsin`` records with ``startDate``, ``endDate``, ``asin``, ``orders``,
    ``uniqueCustomers``, ``repeatPurchaseRevenue``). A row with more unique customers than orders
    is impossible and reported (its cells are left out).
    """
    try:
        text, name, _ = read_text(source)
    except NotText:
        return read_report(source, "repeat_purchases", REPEAT_PURCHASES)
    if text.lstrip().startswith("{"):
        import json

        try:
            doc = json.loads(text)
            records = doc["dataByAsin"]
            if not isinstance(records, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return Report(kind="repeat_purchases", name=name, data=pd.DataFrame()).fail(
                1, "JSON without a list dataByAsin: expected the sellingPartnerRepeatPurchaseReport document of the Selling Partner API"
            )
        rows = []
        for r in records:
            rev = r.get("repeatPurchaseRevenue") if isinstance(r, dict) else None
            r = dict(r) if isinstance(r, dict) else {}
            r["repeatPurchaseRevenue"] = rev.get("amount", "") if isinstance(rev, dict) else rev
            rows.append(r)
        cols = ["asin", "startDate", "endDate", "orders", "uniqueCustomers", "repeatPurchaseRevenue"]
        body = "".join("\t".join("" if r.get(c) is None else str(r.get(c)) for c in cols) + "\n" for r in rows)
        buf = io.StringIO("\t".join(cols) + "\n" + body)
        buf.name = name
        rep = read_report(buf, "repeat_purchases", REPEAT_PURCHASES)
    else:
        rep = read_report(source, "repeat_purchases", REPEAT_PURCHASES, delimiter="auto")
    d = rep.data
    if not d.empty:
        bad = (d["unique_customers"] > d["orders"]).to_numpy()
        for i in np.flatnonzero(bad):
            rep.problems.append(
                ReadProblem(rep.name, int(d["line"].iat[i]), "unique customers", str(int(d["unique_customers"].iat[i])), f"more unique customers than orders ({int(d['orders'].iat[i])}); row skipped")
            )
        rep.data = d[~bad].reset_index(drop=True)
    return rep


def _ztp_draw(rng: np.random.Generator, mu: float, size: int) -> np.ndarray:
    """Zero-truncated Poisson counts of mean ``mu`` before truncation (inverse CDF)."""
    k = np.arange(1, 60)
    logp = k * np.log(max(mu, 1e-12)) - mu - np.cumsum(np.log(k))
    cdf = np.cumsum(np.exp(logp)) / -np.expm1(-max(mu, 1e-12))
    return 1 + np.minimum(np.searchsorted(cdf, rng.random(size)), len(k) - 1)


def repeat_report(rng: np.random.Generator, sc: Scenario, asin: np.ndarray, o_time: np.ndarray) -> str:
    """A Repeat Purchase Behavior report (per ASIN and month) of buyers who each buy the same
    ASIN at ``buyer.purchases_per_year.mean`` a year (Poisson): a month's unique customers are
    its order lines over a customer's mean orders in the month, each customer's orders drawn."""
    rate = sc.buyer.purchases_per_year.mean
    start = pd.Timestamp(sc.start_date)
    month = (start + pd.to_timedelta(o_time, unit="h")).to_period("M")
    lines = pd.DataFrame({"asin": asin, "month": month}).groupby(["asin", "month"]).size()
    rows = []
    for (a, m), n in lines.items():
        days = m.days_in_month
        mu = rate * days / 365.25
        mean_n = mu / -np.expm1(-mu) if mu > 0 else 1.0
        customers = max(int(round(n / mean_n)), 1)
        orders = int(_ztp_draw(rng, mu, customers).sum())
        rows.append([a, m.start_time.strftime("%Y-%m-%d"), m.end_time.strftime("%Y-%m-%d"), orders, customers])
    df = pd.DataFrame(rows, columns=["ASIN", "Start Date", "End Date", "Orders", "Unique Customers"])
    return df.to_csv(index=False, lineterminator="\n")
