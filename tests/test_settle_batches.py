"""A settlement's shortcuts give the numbers of the direct computation, element for element.

Settling a batch costs a fixed number of numpy calls whatever its size, so the settlement takes
shortcuts: rule tables tabulated over the codes they test (``rules.first_match``), lookups by
one flat index (``world.pick``), the ledger reusing the label ``resolve`` computed. Each is
compared here with the computation it replaces, on inputs that reach every branch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SEED_SCENARIO

import returnsim as rs
from returnsim.model import ledger as ledger_module
from returnsim.model import resolution as resolution_module
from returnsim.model import simulation as sim_module
from returnsim.model.world import World, pick
from returnsim.scenario import rules as rules_module
from returnsim.scenario.rules import Condition, RequestView, first_match


def _views(world: World, n: int, seed: int) -> RequestView:
    """Requests with every code of every attribute a condition can test."""
    rng = np.random.default_rng(seed)
    codes = world.codes
    return RequestView(
        price=rng.uniform(1.0, 200.0, n),
        market=rng.integers(0, len(codes["market"]), n),
        item_class=rng.integers(0, len(codes["item_class"]), n),
        reason=rng.integers(0, len(codes["reason"]), n),
        true_reason=rng.integers(0, len(codes["reason"]), n),
        fault=rng.integers(0, len(codes["fault"]), n),
        condition=rng.integers(0, len(codes["condition"]), n),
        in_window=rng.random(n) < 0.5,
        returned_before=rng.random(n) < 0.3,
    )


def _tables(world: World) -> dict[str, list[Condition]]:
    """Every rule table of the seed scenario's policies, and tables that cannot be tabulated."""
    sc = world.scenario
    out: dict[str, list[Condition]] = {}
    for name in sc.policies:
        pol = sc.policy(name)
        for kind in ("freight", "disposition", "returnless", "reject", "offers", "receipt"):
            table = getattr(pol, kind, None) or []
            out[f"{name}.{kind}"] = [r.when for r in table]
    reasons = list(world.codes["reason"])
    out["catch-all"] = [Condition()]
    out["price"] = [Condition(price_min=50.0, fault=["buyer"]), Condition(in_window=False)]
    out["flags"] = [
        Condition(returned_before=True, condition=["used", "damaged"]),
        Condition(in_window=True, true_reason=reasons[:2], market=["international"]),
        Condition(fault=["carrier"]),
    ]
    return out


def test_a_tabulated_rule_table_matches_as_rule_by_rule():
    world = World(rs.load_scenario(SEED_SCENARIO))
    view = _views(world, 5000, seed=3)
    tables = _tables(world)
    assert sum(bool(t) for t in tables.values()) > 10
    tabulated = 0
    for name, conditions in tables.items():
        direct = first_match(conditions, view, world.codes)  # no cache: rule by rule
        cached = first_match(conditions, view, world.codes, world.match_cache)
        again = first_match(conditions, view, world.codes, world.match_cache)  # from the cache
        np.testing.assert_array_equal(cached, direct, err_msg=name)
        np.testing.assert_array_equal(again, direct, err_msg=name)
        assert cached.dtype == direct.dtype == np.int64
        key = ("first_match", *map(id, conditions))
        tabulated += isinstance(world.match_cache[key][1], rules_module._Tabulated)
    assert tabulated >= 5  # the shortcut is taken, not only the fallback
    assert not isinstance(world.match_cache[("first_match", *map(id, tables["price"]))][1], rules_module._Tabulated)


def test_a_mistabulated_rule_table_is_caught(monkeypatch):
    """Plant a bug: tabulate with the attributes' codes in the wrong order of significance."""
    world = World(rs.load_scenario(SEED_SCENARIO))
    view = _views(world, 5000, seed=4)
    conditions = _tables(world)["flags"]
    real = rules_module._Tabulated.__call__

    def reversed_order(self, req):
        if len(self.attributes) < 2:
            return real(self, req)
        flat = getattr(req, self.attributes[-1]).astype(np.int64)
        for attr, size in zip(self.attributes[-2::-1], self.sizes[-2::-1], strict=True):
            flat = flat * size + getattr(req, attr)
        return self.first[np.minimum(flat, len(self.first) - 1)]

    monkeypatch.setattr(rules_module._Tabulated, "__call__", reversed_order)
    wrong = first_match(conditions, view, world.codes, world.match_cache)
    assert not np.array_equal(wrong, first_match(conditions, view, world.codes))


def test_pick_is_indexing_by_several_code_arrays():
    rng = np.random.default_rng(5)
    table = rng.random((3, 4, 5))
    i, j, k = rng.integers(0, 3, 100), rng.integers(0, 4, 100), rng.integers(0, 5, 100)
    np.testing.assert_array_equal(pick(table, i, j, k), table[i, j, k])
    np.testing.assert_array_equal(pick(table[0], j, k), table[0][j, k])
    np.testing.assert_array_equal(pick(table[0, 0], k), table[0, 0][k])


def _captured(monkeypatch, scenario, policy: str) -> list[tuple]:
    """The arguments and result of every ``resolve`` of a run."""
    calls: list[tuple] = []
    real = sim_module.resolve

    def spy(*args):
        out = real(*args)
        calls.append((args, out))
        return out

    monkeypatch.setattr(sim_module, "resolve", spy)
    rs.simulate(scenario, policy, seed=2)
    return calls


@pytest.mark.parametrize("policy", ["seed", None])
def test_the_ledger_gives_the_same_money_with_and_without_resolves_label(monkeypatch, policy):
    """``flows`` with the label ``resolve`` passes it equals ``flows`` computing its own, for
    every settled batch (the seed policy, and the scenario's last policy)."""
    sc = rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 120})
    policy = policy or list(sc.policies)[-1]
    seen: list[tuple[dict, np.ndarray | None]] = []
    real = ledger_module.flows

    def spy(world, **kw):
        seen.append((kw, kw.get("label")))
        return real(world, **kw)

    monkeypatch.setattr(resolution_module, "flows", spy)
    calls = _captured(monkeypatch, sc, policy)
    assert calls and any(label is not None for _, label in seen)
    world = calls[0][0][0]
    for (kw, _), (_, res) in zip(seen, calls, strict=True):
        own = real(world, **{k: v for k, v in kw.items() if k != "label"})
        for c, v in own.items():
            np.testing.assert_array_equal(res.flows[c], v, err_msg=c)


def _poisson_reference(u: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """The smallest k with P(K <= k) >= u, summing the mass upwards one element at a time (the
    definition ``poisson_ppf`` vectorises; means above 30 are scipy's)."""
    from scipy import stats

    out = np.zeros(len(u))
    for i, (ui, mi) in enumerate(zip(u.tolist(), mu.tolist(), strict=True)):
        if mi > 30:
            out[i] = stats.poisson.ppf(ui, mi)
            continue
        p = float(np.exp(-np.float64(mi)))
        c, k = p, 0
        while c < ui and k < 200:
            k += 1
            p *= mi / k
            c += p
        out[i] = k
    return out


@pytest.mark.parametrize("scale", [0.01, 0.5, 4.0, 25.0])
def test_poisson_quantiles_are_the_summed_mass_element_by_element(scale):
    """Batches large and small (the vectorised steps, then the few largest means in Python),
    with zeros, ones, uniforms a hair below 1, zero means and means past 30."""
    from returnsim.scenario.distributions import poisson_ppf

    rng = np.random.default_rng(int(scale * 100))
    for n in (1, 7, 40, 3000):
        u = rng.random(n)
        mu = rng.lognormal(0.0, 1.5, n) * scale
        u[rng.random(n) < 0.02] = 0.0
        u[rng.random(n) < 0.02] = 1.0
        u[rng.random(n) < 0.05] = np.nextafter(1.0, 0.0)
        mu[rng.random(n) < 0.05] = 0.0
        mu[rng.random(n) < 0.02] = 30.0
        np.testing.assert_array_equal(poisson_ppf(u, mu), _poisson_reference(u, mu))


def test_transit_days_in_one_pass_are_each_lanes_own_quantiles():
    """Every lane lognormal (the seed scenario): one pass with per-row parameters gives what each
    lane's quantile function gives, NaN uniforms (the mean) included."""
    world = World(rs.load_scenario(SEED_SCENARIO))
    assert world._lognormal_lanes is not None and len(world.address_names) > 0
    rng = np.random.default_rng(6)
    n = 2000
    market = rng.integers(0, 2, n)
    address = rng.integers(-1, len(world.address_names), n)
    u = rng.random(n)
    u[rng.random(n) < 0.05] = np.nan
    fused = world.lane_days(market, address, u)
    per_lane = World(world.scenario)
    per_lane.__dict__["_lognormal_lanes"] = None  # the lane-by-lane path
    np.testing.assert_array_equal(fused, per_lane.lane_days(market, address, u))
    without_nan = np.where(np.isnan(u), 0.5, u)
    np.testing.assert_array_equal(world.lane_days(market, address, without_nan), per_lane.lane_days(market, address, without_nan))


def test_later_purchases_from_the_rows_the_bound_read_are_those_read_again(monkeypatch):
    """A settled customer's later purchases come from the pre-drawn rows ``earliest_order``
    already read: the same trace as reading them again, every row used, none kept after the run
    (returners buying 0.5 times a year, for enough later purchases)."""
    from returnsim.model import retention as retention_module

    sc = rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 200, "buyer.purchases_per_year.mean": 0.5})
    books: list = []
    used = {"kept": 0, "again": 0}
    real_init, real_pre = retention_module.CustomerBook.__init__, retention_module.CustomerBook._pre_drawn

    def init(self, *args, **kw):
        real_init(self, *args, **kw)
        books.append(self)

    def counting(self, c, count, kept_rows, owner, slot):
        used["kept" if all(int(k) in kept_rows for k in c[count > 0]) else "again"] += 1
        return real_pre(self, c, count, kept_rows, owner, slot)

    monkeypatch.setattr(retention_module.CustomerBook, "__init__", init)
    monkeypatch.setattr(retention_module.CustomerBook, "_pre_drawn", counting)
    kept = rs.simulate(sc, "seed", seed=7, trace=True)
    assert (kept.trace.generation == 1).sum() > 50 and used["kept"] > 0 and used["again"] == 0
    assert books and all(not b._read for b in books)

    def read_again(self, c, count, kept_rows, owner, slot):
        return self.followon_rows(c[owner], slot)

    monkeypatch.setattr(retention_module.CustomerBook, "_pre_drawn", read_again)
    again = rs.simulate(sc, "seed", seed=7, trace=True)
    pd.testing.assert_frame_equal(kept.trace, again.trace, check_exact=True)
    assert kept.kpis == again.kpis
