"""Monitoring under a drift with a known onset: each monitor's detection delay and false alarms, and recovery.

Run: ``python benchmarks/bench_monitoring.py [--light] [--replications 200] [--horizon 200]
[--recover 0.65] [--workers 2] [--out FILE]``; ``--summarize FILE`` prints the tables of a
partial run. ``--light`` runs the same design on the table's numeric columns from a
DataFrame (see :func:`light_scenario`), about five times cheaper.

The shipped ``scenarios/monitoring.yaml`` (German credit table, a concept shift on day 120
that takes the deployed model's true AUC from about 0.83 to about 0.5) is run twice with
the same replication seeds: as shipped (retrain on the performance monitor's alarm, cool-down
15 days, else every 180 days) and with a 60-day schedule instead (the monitors still run).
Per monitor, over the scheduled runs (where alarms change nothing): the detection delay of
the drift's degradation episode (true AUC on the held-out table below 0.7), the share of
replications in which it was missed, and the false alarms per 1,000 days outside episodes.
Per design: the day the true AUC is back at ``--recover`` (0.65) or above after it fell
below 0.7 (recovery; the horizon when it never is). Prints CPU time and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "monitoring.yaml"
ONSET = 120.0
BELOW = 0.7
# The drift monitors check every 2 days (the shipped file: daily) to halve their cost.
CHEAPER = {
    "agents.lender.monitors.inputs.every": 2.0,
    "agents.lender.monitors.predictions.every": 2.0,
}
DESIGNS = {
    "alarm-triggered": CHEAPER,
    "every 60 days": {
        **CHEAPER,
        "agents.lender.retrain.every": 60,
        "agents.lender.retrain.on_alarm": [],
    },
}


NUMERIC = ["no_checking_account", "duration_months", "credit_amount", "age", "installment_rate"]


def light_scenario():
    """The shipped scenario on numeric columns only, from a DataFrame (about 5x cheaper).

    The same table, shift, monitors and designs; the categorical columns are left out but
    for the one the shift is about, given as a 0/1 column ``no_checking_account``
    (``checking_status == A14``), and the Pipeline is scaling + logistic regression.
    """
    from importlib import resources

    import pandas as pd

    from feedbacksim.scenario import Scenario, read_scenario_file

    table = pd.read_csv(resources.files("feedbacksim") / "data" / "german_credit.csv")
    table["no_checking_account"] = (table["checking_status"] == "A14").astype(float)
    data = read_scenario_file(SCENARIO)
    params = data["environment"]["params"]
    params["data"], params["features"] = table, NUMERIC
    shift = params["shifts"][0]
    shift["column"], shift["value"] = "no_checking_account", 1.0
    agent = data["agents"][0]
    agent["model"]["params"]["steps"][0] = [
        "scale",
        {"kind": "sklearn.preprocessing.StandardScaler"},
    ]
    for monitor in agent["monitors"]:
        if monitor["name"] == "inputs":
            monitor["features"] = ["no_checking_account", "duration_months", "credit_amount"]
    return Scenario.from_dict(data, SCENARIO)


def replicate(args: tuple[str, int, float, float, bool]) -> dict:
    """One replication of a design: per-monitor scores and the recovery day."""
    from threadpoolctl import threadpool_limits

    import feedbacksim
    from feedbacksim.analyzers.monitoring import MonitoringAnalyzer
    from feedbacksim.core.seeding import as_seed_sequence

    design, index, horizon, recover, light = args
    base = light_scenario() if light else feedbacksim.load(SCENARIO)
    scenario = base.with_overrides({**DESIGNS[design], "horizon": horizon})
    seed = as_seed_sequence(scenario.spec.seed).spawn(index + 1)[index]
    start = time.process_time()
    with threadpool_limits(1):
        trace = scenario.build(seed=seed, replication=index).run()
    finding = MonitoringAnalyzer(below=BELOW, after=10).analyze(trace)[0]
    auc = trace["holdout_auc"]
    values, times = auc.group("all"), auc.times
    after = times >= ONSET
    low = np.flatnonzero(after & (values < BELOW))
    recovered = horizon
    if low.size:
        back = np.flatnonzero((times > times[low[0]]) & (values >= recover))
        recovered = float(times[back[0]]) if back.size else horizon
    return {
        "design": design,
        "monitors": finding.evidence["monitors"],
        "episodes": finding.evidence["episodes"],
        "index": index,
        "recovered": recovered,
        "cpu": time.process_time() - start,
    }


def summarize(rows: list[dict], horizon: float) -> None:
    """Print the per-monitor and per-design tables for ``rows`` (complete or partial runs)."""
    scheduled = [r for r in rows if r["design"] == "every 60 days"]
    print(
        "\nmonitor (scheduled runs)   drift episodes   median delay [IQR]   missed   "
        "false alarms / 1,000 days (mean)"
    )
    for name in sorted(scheduled[0]["monitors"]):
        delays, missed, false = [], 0, []
        for r in scheduled:
            stats = r["monitors"][name]
            # The drift's episode: the first one starting at or after the onset.
            starts = [s for s, _ in r["episodes"]]
            k = next((i for i, s in enumerate(starts) if s >= ONSET), None)
            false.append(stats["false_alarms_per_1000"])
            if k is None:
                continue
            d = stats["delays"][k]
            if d is None:
                missed += 1
            else:
                delays.append(d + starts[k] - ONSET)  # delay from the drift's onset
        n = len(delays) + missed
        q = np.percentile(delays, [25, 50, 75]) if delays else [np.nan] * 3
        print(
            f"{name:26s} {n:6d}   {q[1]:10.1f} [{q[0]:.0f}, {q[2]:.0f}]   "
            f"{missed / max(n, 1):6.1%}   {np.mean(false):8.2f}"
        )
    print("\ndesign            replications   median recovery day [IQR]   mean   recovered")
    for design in DESIGNS:
        days = np.array([r["recovered"] for r in rows if r["design"] == design])
        q = np.percentile(days, [25, 50, 75])
        print(
            f"{design:17s} {days.size:8d}   {q[1]:12.1f} [{q[0]:.0f}, {q[2]:.0f}]   "
            f"{days.mean():9.1f}   {np.mean(days < horizon):.1%}"
        )
    by_seed: dict[int, dict[str, float]] = {}
    for r in rows:
        by_seed.setdefault(r["index"], {})[r["design"]] = r["recovered"]
    pairs = np.array(
        [[v["alarm-triggered"], v["every 60 days"]] for v in by_seed.values() if len(v) == 2]
    )
    diff = pairs[:, 1] - pairs[:, 0]  # paired by replication seed
    se = diff.std(ddof=1) / np.sqrt(diff.size)
    print(
        f"\nschedule minus alarm, paired over {diff.size} seeds: {diff.mean():.1f} days "
        f"(95% CI {diff.mean() - 1.96 * se:.1f} to {diff.mean() + 1.96 * se:.1f}); alarm "
        f"recovered first in {np.mean(diff > 0):.0%}, tied in {np.mean(diff == 0):.0%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--horizon", type=float, default=200.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--recover", type=float, default=0.65)
    parser.add_argument(
        "--out", default="bench_monitoring.jsonl", help="one JSON line per replication"
    )
    parser.add_argument("--summarize", help="only print the tables of a (partial) --out file")
    parser.add_argument(
        "--light", action="store_true", help="numeric columns only (light_scenario)"
    )
    args = parser.parse_args()
    if args.summarize:
        rows = [json.loads(line) for line in Path(args.summarize).read_text().splitlines()]
        print(f"{len(rows)} replications read from {args.summarize}")
        summarize(rows, args.horizon)
        return
    load = os.getloadavg()[0]
    # Interleaved, so that a partial run holds both designs for the same seeds.
    jobs = [
        (d, i, args.horizon, args.recover, args.light)
        for i in range(args.replications)
        for d in DESIGNS
    ]
    rows = []
    with ProcessPoolExecutor(args.workers) as pool, open(args.out, "w") as out:
        for row in pool.map(replicate, jobs):  # each row saved as it comes, in order
            rows.append(row)
            out.write(json.dumps(row) + "\n")
            out.flush()
    cpu = sum(r["cpu"] for r in rows)
    print(
        f"{args.replications} replications per design, horizon {args.horizon:g} days, drift "
        f"onset day {ONSET:g}; CPU {cpu:.0f} s in the workers ({cpu / len(rows):.1f} s per "
        f"replication); load average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
    )
    summarize(rows, args.horizon)


if __name__ == "__main__":
    main()
