"""Verdicts away from the shipped settings: every world with analyzers, far from its numbers.

For every shipped world that has analyzers, at least four parameter points far from the
shipped ones (scales x0.1 to x10, group sizes, horizons, noise levels), and the mitigated
variant at the same points where the world has one. Each point is labelled *before* the
run, by theory or by an independent plain-numpy reference written below: clearly a
failure the analyzers exist to catch (a runaway, a degradation, an unsafe state) or
clearly not. Borderline points are avoided; each label's derivation is in its comment.
The confusion matrix of label against verdict is printed; the goal is no false pass
and at most one false fail.

Costs are kept small (one to a few replications, short horizons where the label stays
clear): the whole suite is budgeted at 90 s of CPU on one core.

Not covered: the attention_dynamic world, whose shipped invariant is an absolute count
of missed incidents a day (``sum(mean_missed) <= 1.85``), a threshold that has no
meaning at other incident rates, so no point away from the shipped one has a clear label.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import special

from feedbacksim.scenario import load

ROOT = Path(__file__).resolve().parents[1]
FAIL, PASS = "fail", "pass"


# --------------------------------------------------------------------------------------
# Independent plain-numpy references (they share nothing with the worlds' code)
# --------------------------------------------------------------------------------------


def pricing_max_price(
    initial: float, factors: tuple[float, float], cycles: int, cap: float
) -> float:
    """Highest price of the two-seller repricing war: A = fa * B, then B = min(fb * A, cap)."""
    a = b = initial
    top = initial
    for _ in range(cycles):
        a = factors[0] * b
        b = min(factors[1] * a, cap)
        top = max(top, a, b)
    return top


def performative_gap(mu: float, eps: float, sigma: float, n: int, rounds: int, seed: int) -> float:
    """|theta - mu/(1-eps)| / |mu/(1-eps)| after ``rounds`` of repeated risk minimization.

    theta_{t+1} = the mean of n draws of N(mu + eps theta_t, sigma^2) (Perdomo et al. 2020).
    """
    rng = np.random.default_rng(seed)
    theta = 0.0
    for _ in range(rounds):
        theta = mu + eps * theta + sigma / np.sqrt(n) * rng.standard_normal()
    stable = mu / (1.0 - eps)
    return abs(theta - stable) / abs(stable)


def collapse_fraction(samples: int, fresh: int, generations: int, chains: int, seed: int) -> float:
    """Share of chains whose fitted variance stays below a quarter of the truth for 10 generations.

    Each generation fits N(mean, unbiased variance) to ``samples - fresh`` draws of the
    previous fit and ``fresh`` draws of N(0, 1); vectorized over chains.
    """
    rng = np.random.default_rng(seed)
    mean, var = np.zeros(chains), np.ones(chains)
    below = np.zeros(chains, dtype=int)
    collapsed = np.zeros(chains, dtype=bool)
    for _ in range(generations):
        synthetic = mean[:, None] + np.sqrt(var)[:, None] * rng.standard_normal(
            (chains, samples - fresh)
        )
        x = np.concatenate([synthetic, rng.standard_normal((chains, fresh))], axis=1)
        mean, var = x.mean(axis=1), x.var(axis=1, ddof=1)
        below = np.where(np.log(var) < np.log(0.25), below + 1, 0)
        collapsed |= below >= 10
    return float(collapsed.mean())


def greedy_lock_in(rates: tuple[float, float], rounds: int, players: int, seed: int) -> float:
    """Share of greedy Beta(1, 1) players whose share of best-arm pulls ends below one half."""
    rng = np.random.default_rng(seed)
    p = np.asarray(rates)
    wins = np.ones((players, 2))
    losses = np.ones((players, 2))
    best = int(np.argmax(p))
    pulls_best = np.zeros(players)
    rows = np.arange(players)
    for _ in range(rounds):
        arm = np.argmax(wins / (wins + losses), axis=1)  # ties to arm 0, as argmax
        reward = rng.random(players) < p[arm]
        wins[rows, arm] += reward
        losses[rows, arm] += ~reward
        pulls_best += arm == best
    return float(np.mean(pulls_best / rounds < 0.5))


# --------------------------------------------------------------------------------------
# The points
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One scenario at one parameter point, with the label derived before running it."""

    world: str
    file: str
    label: str
    overrides: dict[str, Any] = field(default_factory=dict)
    replications: int = 1
    why: str = ""

    @property
    def id(self) -> str:
        parts = ",".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in self.overrides.items())
        return f"{self.file.removesuffix('.yaml')}[{parts}]"


def case(world, file, label, why, replications=1, **overrides):
    return Case(
        world,
        file,
        label,
        {k.replace("__", "."): v for k, v in overrides.items()},
        replications,
        why,
    )


CASES: list[Case] = [
    # ---- pricing: deterministic; labels from pricing_max_price (the cycle multiplies
    # prices by 0.9983 * 1.270589 = 1.2684). Prices and ceiling rescaled together.
    *[
        case(
            "pricing",
            "pricing.yaml",
            FAIL,
            f"x{k}: 40k * 1.268^60 passes 1000k by cycle 14",
            environment__params__initial_price=40.0 * k,
            environment__params__price_ceiling=1000.0 * k,
        )
        for k in (0.1, 10.0)
    ],
    case("pricing", "pricing.yaml", PASS, "10 cycles: 40 * 1.268^10 = 430 < 1000", horizon=10),
    case(
        "pricing",
        "pricing.yaml",
        PASS,
        "B marks up by 1.001: the cycle factor 0.9993 < 1, prices fall",
        agents__1__model__params__factor=1.001,
    ),
    *[
        case(
            "pricing",
            "pricing_mitigated.yaml",
            PASS,
            f"x{k}: B capped at 0.9 ceiling, A undercuts it",
            environment__params__initial_price=40.0 * k,
            environment__params__price_ceiling=1000.0 * k,
            agents__1__model__params__max_price=900.0 * k,
        )
        for k in (0.1, 10.0)
    ],
    case(
        "pricing", "pricing_mitigated.yaml", PASS, "cap 900 < ceiling over 200 cycles", horizon=200
    ),
    case(
        "pricing",
        "pricing_mitigated.yaml",
        PASS,
        "cap 500, ceiling 1000",
        agents__1__model__params__max_price=500.0,
    ),
    # ---- performative: theta_{t+1} = mu + eps theta_t + noise (Perdomo et al. 2020).
    # eps 0.5 settles (gap 0.5^30 ~ 1e-9 of the stable point, noise 1e-3 of it), eps 1.3
    # diverges geometrically (gap ~1.3^30 = 2600 stable points); performative_gap checks.
    # mu and sigma rescaled together leave theta / mu's dynamics unchanged.
    *[
        case(
            "performative",
            "performative.yaml",
            label,
            f"mu=sigma={k}, eps={eps}",
            environment__params__mu=k,
            environment__params__sigma=k,
            environment__params__eps=eps,
            environment__params__samples_per_round=2000,
            agents__0__data__size=2000,
        )
        for k in (0.1, 10.0)
        for eps, label in ((0.5, PASS), (1.3, FAIL))
    ],
    case(
        "performative",
        "performative.yaml",
        PASS,
        "eps 0.9, 80 rounds: gap 10 * 0.9^80 = 0.002",
        horizon=80,
        environment__params__samples_per_round=2000,
        agents__0__data__size=2000,
    ),
    # ---- pricing_learned: a deviation from equilibrium is multiplied by -supply_slope each
    # period (|1.2| > 1 unstable, 0.5 stable); with smoothing s by 1 - s - s * slope
    # (-0.1 at 1.2, -0.5 at 2.0: stable). Intercept, initial price and noise rescaled
    # together rescale prices, not price_gap (a ratio).
    *[
        case(
            "pricing_learned",
            f,
            label,
            f"x{k}: multiplier {m}",
            environment__params__demand_intercept=100.0 * k,
            environment__params__initial_price=50.0 * k,
            environment__params__noise=1.0 * k,
            horizon=80,
        )
        for k in (0.1, 10.0)
        for f, label, m in (
            ("pricing_learned.yaml", FAIL, -1.2),
            ("pricing_learned_mitigated.yaml", PASS, -0.1),
        )
    ],
    case(
        "pricing_learned",
        "pricing_learned.yaml",
        FAIL,
        "supply slope 2.0: multiplier -2",
        environment__params__supply_slope=2.0,
        horizon=80,
    ),
    case(
        "pricing_learned",
        "pricing_learned_mitigated.yaml",
        PASS,
        "slope 2.0, smoothing 0.5: multiplier -0.5",
        environment__params__supply_slope=2.0,
        horizon=80,
    ),
    case(
        "pricing_learned",
        "pricing_learned.yaml",
        PASS,
        "supply slope 0.5: multiplier -0.5, stable",
        environment__params__supply_slope=0.5,
        horizon=80,
    ),
    case(
        "pricing_learned",
        "pricing_learned.yaml",
        FAIL,
        "noise x10 (10): still multiplier -1.2",
        environment__params__noise=10.0,
        horizon=80,
    ),
    # ---- demand: E[min(D, s)] < s for every stock s > 0, so a forecaster that reads sales
    # as demand spirals down at any level (faster at low levels, where sell-outs are
    # common); the censored-likelihood forecaster is consistent. Labels: theory; at x10
    # the ignore forecaster ends a year at 0.73 of true demand, still falling.
    *[
        case(
            "demand", f, label, f"levels x{k}", environment__params__level_range=[1.0 * k, 8.0 * k]
        )
        for k in (0.3, 10.0)
        for f, label in (("demand.yaml", FAIL), ("demand_mitigated.yaml", PASS))
    ],
    case(
        "demand",
        "demand.yaml",
        FAIL,
        "5 products, 2 years",
        environment__params__products=5,
        horizon=728,
    ),
    case(
        "demand",
        "demand_mitigated.yaml",
        PASS,
        "5 products, 2 years",
        environment__params__products=5,
        horizon=728,
    ),
    # ---- policing: Ensign et al. (2018): with proportional dispatch and discovered-only
    # updates the urn locks onto the higher-rate region (patrol share -> 1, the truth
    # 0.6); the corrected counts are unbiased, so the share goes to the true 0.6. Rates
    # scaled together keep the true share; 4 replications (86% run away at the shipped
    # point: all four miss with probability 0.0004).
    *[
        case(
            "policing",
            f,
            label,
            f"rates {rates}",
            4,
            environment__params__incident_rates=rates,
            horizon=1500,
        )
        for rates in ([0.3, 0.2], [0.9, 0.6])
        for f, label in (
            ("predictive_policing.yaml", FAIL),
            ("predictive_policing_corrected.yaml", PASS),
        )
    ],
    # ---- retention: Hashimoto et al. (2018): ERM with conflicting groups
    # (|u0 - u1|^2 = 0.72 > 4 sigma^2) has an unstable balanced state, worst-group
    # (DRO-like) loss keeps both groups at half. Populations x10 leave the expected
    # dynamics of the shares unchanged (lambda' = lambda nu(R) + b is linear in
    # lambda and b); noise 0.05 is further inside the unstable region (4 sigma^2 = 0.01).
    *[
        case("retention", f, label, why, **ov)
        for why, ov in (
            (
                "populations x10",
                {
                    "environment__params__initial_users": [900, 900],
                    "environment__params__new_users": [200, 200],
                },
            ),
            ("noise 0.05", {"environment__params__noise_sd": 0.05}),
        )
        for f, label in (("retention.yaml", FAIL), ("retention_mitigated.yaml", PASS))
    ],
    # ---- data_feedback: Taori & Hashimoto (2023): with m human and k model labels per
    # round the bias grows from delta towards (1 + k/m) delta; sampling-based labelling
    # keeps it at delta. k = 0 has no loop at all (bias stays delta). Tolerance: a fifth
    # of delta, whatever delta the separation and the positive rate give.
    case(
        "data_feedback",
        "data_feedback.yaml",
        FAIL,
        "k/m = 3: bound 4 delta",
        2,
        environment__params__model_labels=300,
        horizon=150,
    ),
    case(
        "data_feedback",
        "data_feedback_mitigated.yaml",
        PASS,
        "k/m = 3, sampling labels",
        2,
        environment__params__model_labels=300,
        horizon=150,
    ),
    case(
        "data_feedback",
        "data_feedback.yaml",
        FAIL,
        "positive rate 0.8, k/m = 3",
        2,
        environment__params__positive_rate=0.8,
        environment__params__model_labels=300,
        horizon=150,
    ),
    case(
        "data_feedback",
        "data_feedback_mitigated.yaml",
        PASS,
        "positive rate 0.8, k/m = 3, sampling",
        2,
        environment__params__positive_rate=0.8,
        environment__params__model_labels=300,
        horizon=150,
    ),
    case(
        "data_feedback",
        "data_feedback.yaml",
        PASS,
        "k = 0: no model labels, no loop",
        2,
        environment__params__model_labels=0,
        horizon=150,
    ),
    # ---- model_collapse: labels from collapse_fraction (1,000 numpy chains, below).
    # The training window holds one generation (size = samples), as in the reference.
    case(
        "model_collapse",
        "model_collapse.yaml",
        FAIL,
        "10 samples a generation",
        12,
        environment__params__samples=10,
        agents__0__data__size=10,
        horizon=61,
    ),
    case(
        "model_collapse",
        "model_collapse_mitigated.yaml",
        PASS,
        "10 samples, 3 fresh",
        12,
        environment__params__samples=10,
        environment__params__fresh_fraction=0.3,
        agents__0__data__size=10,
        horizon=61,
    ),
    case(
        "model_collapse",
        "model_collapse.yaml",
        FAIL,
        "20 samples, 200 generations",
        12,
        horizon=201,
    ),
    case(
        "model_collapse",
        "model_collapse_mitigated.yaml",
        PASS,
        "20 samples, 2 fresh, 200 generations",
        12,
        horizon=201,
    ),
    # ---- bandit: labels from greedy_lock_in (4,000 numpy players). The rule fails when
    # the Wilson lower bound of the locked-in fraction exceeds 10%.
    *[
        case(
            "bandit",
            "bandit.yaml",
            FAIL,
            f"rates {r}: {share:.0%} of greedy players lock in",
            30,
            environment__params__success_rates=r,
            horizon=300,
        )
        for r, share in (([0.06, 0.05], 0.40), ([0.3, 0.25], 0.33))
    ],
    *[
        case(
            "bandit",
            f,
            PASS,
            f"rates {r}: a gap this wide, {share} lock in",
            30,
            environment__params__success_rates=r,
            horizon=300,
        )
        for r, share in (([0.9, 0.1], "0%"), ([0.8, 0.2], "0.15%"))
        for f in ("bandit.yaml", "bandit_mitigated.yaml")
    ],
    # ---- lending: the training labels come only from approved applicants (selective
    # labels), so the band default rate in training sits below the applicants' (Lakkaraju
    # et al. 2017); group 1 (20%, scores 540) is rarely approved and starves in the
    # window. Approving everyone (epsilon 1) removes the selection: no band bias, every
    # group at its applicant share. Points: 4x fewer and 2x more applicants a day.
    *[
        case(
            "lending",
            "lending.yaml",
            label,
            f"{n} applicants/day, epsilon {eps}",
            environment__params__applicants_per_day=n,
            agents__0__policy__epsilon=eps,
            horizon=120,
        )
        for n in (50, 400)
        for eps, label in ((0.0, FAIL), (1.0, PASS))
    ],
    # ---- lending_fico: Liu et al. (2018), Section 6: demographic parity at the utility
    # ratio 4 selects 57.7% of the Black group, past the 43.1% where lending lowers the
    # group's mean score (active harm); equal opportunity selects 35.6%, below it (the
    # score rises). Both are one-step properties of the FICO tables, so the applicant
    # volume, the pool size and the label delay change only how fast the change shows.
    *[
        case(
            "lending_fico",
            f,
            label,
            why,
            environment__params__applicants_per_day=n,
            environment__params__population_size=pool,
            environment__params__label_delay=delay,
            horizon=120,
        )
        for why, n, pool, delay in (
            ("2x applicants", 400, 10_000, 30),
            ("4x applicants", 800, 10_000, 30),
            ("4x pool", 200, 40_000, 30),
            ("half the label delay", 200, 10_000, 15),
        )
        for f, label in (("lending_fico.yaml", FAIL), ("lending_fico_mitigated.yaml", PASS))
    ],
    # ---- recommender: Chaney et al. (2018): a popularity recommender trained on its own
    # interactions homogenizes users (excess ~0.4 at the shipped point against a limit
    # of 0.1); content filtering ranks by each user's own profile, at or below the ideal.
    *[
        case(
            "recommender",
            f,
            label,
            f"{users} users, {items} items",
            environment__params__n_users=users,
            environment__params__n_items=items,
            horizon=60,
        )
        for users, items in ((60, 60), (400, 100))
        for f, label in (("recommender.yaml", FAIL), ("recommender_mitigated.yaml", PASS))
    ],
    # ---- strategic_classification: an applicant games iff c_i delta_i^2 < benefit, so
    # the loop depends on cost_scale / benefit only: (0.7, 10) is the shipped cheap-gaming
    # regime (period-2 oscillation, docs/worlds.md), (10, 10) the costly one that settles
    # within 5 retrains. A pool 5x smaller keeps the regimes (the response is a share of
    # the pool), over the shipped 40 rounds: with 20 rounds and 2,000 applicants the
    # oscillation's evidence (19 noisy steps) is too thin to label.
    *[
        case(
            "strategic",
            "strategic_classification.yaml",
            label,
            f"cost {c}, benefit {b}, {n} applicants",
            environment__params__cost_scale=c,
            environment__params__benefit=b,
            environment__params__applicants=n,
            agents__0__data__size=n,
            agents__0__pretrain__samples=n,
            horizon=h,
        )
        for c, b, n, h, label in (
            (0.7, 10.0, 10_000, 20, FAIL),
            (10.0, 10.0, 10_000, 20, PASS),
            (0.07, 1.0, 2_000, 40, FAIL),
            (1.0, 1.0, 2_000, 40, PASS),
        )
    ],
]


# --------------------------------------------------------------------------------------
# The suite
# --------------------------------------------------------------------------------------


def test_labels_agree_with_the_numpy_references():
    """The reference-labelled points: each label follows from its reference, with margin."""
    # pricing: x0.1 and x10 pass the ceiling (margins > 10x at cycle 60); horizon 10 stays
    # at 0.43 of it; the mitigated cap keeps 0.9 of it; B at 1.001 never rises.
    for k in (0.1, 10.0):
        assert pricing_max_price(40 * k, (0.9983, 1.270589), 60, np.inf) > 10 * 1000 * k
        assert pricing_max_price(40 * k, (0.9983, 1.270589), 60, 900 * k) <= 0.9 * 1000 * k
    assert pricing_max_price(40, (0.9983, 1.270589), 10, np.inf) < 0.5 * 1000
    assert pricing_max_price(40, (0.9983, 1.001), 60, np.inf) <= 40.1
    # performative: settles within 1e-3 of the stable point (limit 0.1) or leaves it by
    # > 100 stable points after 30 rounds.
    for k in (0.1, 10.0):
        assert performative_gap(k, 0.5, k, 2000, 30, seed=1) < 1e-3
        assert performative_gap(k, 1.3, k, 2000, 30, seed=1) > 100
    # model collapse: the log-variance drift per generation is psi((M-1)/2) - ln((M-1)/2)
    # (-0.115 at M = 10, -0.054 at 20): collapse in most chains, far above the rule's
    # 0.5; fresh data keeps the share near 0 (measured 0.917, 0.0, 0.988, 0.008).
    assert special.digamma(4.5) - np.log(4.5) == pytest.approx(-0.115, abs=1e-3)
    assert collapse_fraction(10, 0, 60, 1000, seed=2) > 0.85
    assert collapse_fraction(10, 3, 60, 1000, seed=2) < 0.05
    assert collapse_fraction(20, 0, 200, 1000, seed=2) > 0.85
    assert collapse_fraction(20, 2, 200, 1000, seed=2) < 0.05
    # bandit: lock-in share of greedy players, far from the 10% edge on either side.
    # Measured 0.40, 0.33, 0.0, 0.0015 (SE 0.008 at 4,000 players). Exploration is
    # judged only where greedy play already passes: at the narrow gaps exploring players
    # dwell on the worse arm for a while (12-19% flagged at the shipped point, too close
    # to the 10% edge to label).
    assert greedy_lock_in((0.06, 0.05), 300, 4000, seed=3) > 0.3
    assert greedy_lock_in((0.3, 0.25), 300, 4000, seed=3) > 0.3
    assert greedy_lock_in((0.9, 0.1), 300, 4000, seed=3) < 0.01
    assert greedy_lock_in((0.8, 0.2), 300, 4000, seed=3) < 0.01


def verdict(c: Case) -> str:
    scenario = load(ROOT / "scenarios" / c.file).with_overrides(c.overrides)
    return scenario.run(replications=c.replications, executor="serial").verdict


@pytest.mark.slow
def test_verdicts_hold_away_from_the_shipped_settings(capsys):
    rows, cpu = [], {}
    for c in CASES:
        start = time.process_time()
        got = verdict(c)
        cpu[c.id] = time.process_time() - start
        rows.append((c, got))
    matrix = {(label, got): 0 for label in (FAIL, PASS) for got in (FAIL, PASS)}
    for c, got in rows:
        matrix[(c.label, got)] += 1
    with capsys.disabled():
        print("\nverdict robustness: label vs verdict")
        for c, got in rows:
            mark = (
                ""
                if got == c.label
                else "   <-- " + ("FALSE PASS" if c.label == FAIL else "false fail")
            )
            print(f"  {c.world:<16} {c.id:<90} label {c.label} got {got} ({cpu[c.id]:.1f}s){mark}")
        print(f"  {'':>14} verdict fail  verdict pass")
        print(f"  label fail   {matrix[(FAIL, FAIL)]:>12}  {matrix[(FAIL, PASS)]:>12}")
        print(f"  label pass   {matrix[(PASS, FAIL)]:>12}  {matrix[(PASS, PASS)]:>12}")
        print(f"  CPU {sum(cpu.values()):.1f} s over {len(rows)} runs")
    worlds = {c.world for c in CASES}
    assert all(sum(c.world == w for c in CASES) >= 4 for w in worlds)
    assert matrix[(FAIL, PASS)] == 0, "false pass: a loop the analyzers exist to catch was passed"
    assert matrix[(PASS, FAIL)] <= 1
