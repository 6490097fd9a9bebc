"""The replication axis: policing at R replications x T days, beside a vectorized numpy reference.

Run: ``python benchmarks/bench_replications.py [--shapes 1000x2000 1000x100]
[--serial-sample 20] [--repeats 5]``. ``numpy`` and ``kernel`` are the best of ``--repeats``
interleaved runs (on a virtual machine, cycles stolen by its neighbours only add). For each shape, CPU seconds (``time.process_time``) of:

* ``numpy``: the reference, the same urn written by hand in numpy vectorized over
  replications (one Generator for all, Bernoulli discovery, one patrol drawn by inverse
  CDF, daily count update) recording the same 6 metrics x 2 regions into (T, R, 2) arrays;
* ``kernel``: ``policing_batch.run_batch`` in batches of ``MAX_BATCH`` (the simulation
  alone: the replications' own streams, the recorded traces, the event logs);
* ``run``: ``Scenario.run`` of the shipped scenario at that shape, serial executor, in
  memory: the batched path with every replication analyzed (the runaway analyzer);
* ``serial``: the per-replication path (one Simulation each) on ``--serial-sample``
  replications, scaled to R: what the same run cost before the replication axis.

Then, for each world of ``--worlds`` (the refitting worlds' kernels: model collapse,
performative, demand with ``censoring: ignore`` and ``mle``), at its shipped scenario's
replications and horizon unless ``--world-shapes`` gives others, the same ``kernel``,
``run`` and ``serial`` columns.

The load average is printed; on a shared machine (load above the number of cores) the
ratios hold better than the absolute numbers.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

import feedbacksim
from feedbacksim.core.seeding import replication_sequences
from feedbacksim.run import batched, runner
from feedbacksim.run.batched import MAX_BATCH
from feedbacksim.worlds.policing_batch import run_batch

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "predictive_policing.yaml"


def numpy_reference(replications: int, days: int, seed: int) -> np.ndarray:
    """The urn vectorized over replications by hand; returns region 0's final share."""
    rng = np.random.default_rng(seed)
    rates = np.array([0.6, 0.4])
    counts = np.ones((replications, 2))
    rows = np.arange(replications)
    recorded = {m: np.empty((days, replications, 2)) for m in range(6)}
    share_true = rates / rates.sum()
    for t in range(days):
        p = counts / counts.sum(axis=1, keepdims=True)
        chosen = (rng.random(replications) * 1.0 >= p[:, 0]).astype(np.int64)
        actions = np.zeros((replications, 2))
        actions[rows, chosen] = 1.0
        incidents = (rng.random((replications, 2)) < rates).astype(float)
        discovered = actions * incidents
        counts += discovered
        recorded[0][t] = p
        recorded[1][t] = actions
        recorded[2][t] = share_true
        recorded[3][t] = discovered
        recorded[4][t] = incidents - discovered
        recorded[5][t] = rates
    return counts[:, 0] / counts.sum(axis=1)


def kernel(scenario: feedbacksim.Scenario, replications: int, seed: int) -> None:
    seeds = replication_sequences(seed, replications)
    for start in range(0, replications, MAX_BATCH):
        chunk = list(range(start, min(replications, start + MAX_BATCH)))
        run_batch(scenario.spec, [seeds[i] for i in chunk], chunk)


def world_kernel(scenario: feedbacksim.Scenario, replications: int, seed: int) -> None:
    """The scenario's batched kernel alone, in batches as the runner sends them."""
    module = batched.kernel(scenario.spec)
    size = max(
        1, min(MAX_BATCH, batched.MEMORY_BUDGET // module.bytes_per_replication(scenario.spec))
    )
    seeds = replication_sequences(seed, replications)
    for start in range(0, replications, size):
        chunk = list(range(start, min(replications, start + size)))
        module.run_batch(scenario.spec, [seeds[i] for i in chunk], chunk)


#: World -> its shipped scenario file(s) (one row each).
WORLDS = {
    "model_collapse": ["model_collapse.yaml", "model_collapse_mitigated.yaml"],
    "performative": ["performative.yaml"],
    "demand": ["demand.yaml", "demand_mitigated.yaml"],
}


def cpu(fn, *args, **kwargs) -> float:
    started = time.process_time()
    fn(*args, **kwargs)
    return time.process_time() - started


def serial_run(scenario: feedbacksim.Scenario, replications: int) -> None:
    batchable = runner.batchable
    runner.batchable = lambda scenario: False
    try:
        scenario.run(replications=replications, seed=7, executor="serial")
    finally:
        runner.batchable = batchable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", default=["1000x2000", "1000x100"])
    parser.add_argument("--serial-sample", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5, help="best of, for numpy and kernel")
    parser.add_argument("--worlds", nargs="*", default=list(WORLDS), choices=list(WORLDS))
    parser.add_argument(
        "--world-shapes", nargs="*", default=[], help="RxT for every world (default: shipped)"
    )
    args = parser.parse_args()
    base = feedbacksim.load(SCENARIO)
    base.with_overrides({"horizon": 5}).run(replications=2, executor="serial")  # warm imports
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"policing (2 regions, proportional, daily retrain), CPU seconds; load average {load}")
    print(
        f"{'R x T':>10} {'numpy':>7} {'kernel':>7} {'kernel/numpy':>12} {'run':>7} "
        f"{'serial (scaled)':>15} {'serial/run':>10}"
    )
    for shape in args.shapes:
        r, days = (int(x) for x in shape.split("x"))
        scenario = base.with_overrides({"horizon": days})
        # Interleaved, best of --repeats each, so both see the same machine.
        pairs = [
            (cpu(numpy_reference, r, days, 1), cpu(kernel, scenario, r, 7))
            for _ in range(args.repeats)
        ]
        reference, ours = min(p[0] for p in pairs), min(p[1] for p in pairs)
        run = cpu(scenario.run, r, 7, executor="serial")
        sample = min(r, args.serial_sample)
        serial = cpu(serial_run, scenario, sample) * r / sample
        print(
            f"{shape:>10} {reference:>7.2f} {ours:>7.2f} {ours / reference:>12.2f} {run:>7.2f} "
            f"{serial:>15.2f} {serial / run:>10.1f}"
        )
    if args.worlds:
        worlds(args.worlds, args.world_shapes, args.serial_sample)


def worlds(names: list[str], shapes: list[str], serial_sample: int) -> None:
    """The refitting worlds' rows: kernel, batched run and scaled serial run, CPU seconds."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nrefitting worlds, CPU seconds; load average {load}")
    print(
        f"{'scenario':>30} {'R x T':>10} {'kernel':>7} {'run':>7} {'serial (scaled)':>15} "
        f"{'serial/run':>10} {'serial/kernel':>13}"
    )
    for world in names:
        for name in WORLDS[world]:
            base = feedbacksim.load(SCENARIO.parent / name)
            base.with_overrides({"horizon": 3}).run(replications=2, executor="serial")  # warm
            for shape in shapes or [f"{base.spec.replications}x{base.spec.horizon:g}"]:
                r, days = (int(float(x)) for x in shape.split("x"))
                scenario = base.with_overrides({"horizon": days})
                assert batched.batchable(scenario), name
                ours = cpu(world_kernel, scenario, r, 7)
                run = cpu(scenario.run, r, 7, executor="serial")
                sample = min(r, serial_sample)
                serial = cpu(serial_run, scenario, sample) * r / sample
                print(
                    f"{name:>30} {shape:>10} {ours:>7.2f} {run:>7.2f} {serial:>15.2f} "
                    f"{serial / run:>10.1f} {serial / ours:>13.1f}"
                )
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average after: {load}")


if __name__ == "__main__":
    main()
