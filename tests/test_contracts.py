"""The framework's contracts, each checked by one quick, targeted test (fast tier).

Each test would fail if its contract were broken: labels delayed by a day, a selective
label filter dropped, every replication given one seed, the open-loop twin run with the
loop closed, a per-group measure reversed, an atomic write replaced by a direct one, or a
temporary file counted as a complete replication.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import feedbacksim
import feedbacksim.run.replication as running
import feedbacksim.run.store as store_module
from feedbacksim.core.agent import Agent
from feedbacksim.core.simulation import Simulation
from feedbacksim.core.trace import Trace
from feedbacksim.errors import RunFailure
from feedbacksim.run.files import atomic_write, atomic_write_text
from feedbacksim.run.runner import replicate, run_replication
from feedbacksim.run.store import ReplicationStore, findings_to_json

LABEL_DELAY = 7
LENDING = {
    "horizon": 60,
    "environment.params.population_size": 500,
    "environment.params.applicants_per_day": 25,
    "environment.params.label_delay": LABEL_DELAY,
    # A noise column makes every applicant's feature row unique, so an observed row
    # identifies the decision it came from.
    "environment.params.noise_features": 1,
    "agents.lender.pretrain.samples": 300,
}


class Tape:
    """What one agent was asked and shown: (time, batch features, actions) and (time, rows)."""

    def __init__(self, agent: Agent) -> None:
        self.decisions: list[tuple[float, np.ndarray, np.ndarray]] = []
        self.observations: list[tuple[float, np.ndarray, np.ndarray]] = []
        decide, observe = agent.decide, agent.observe

        def recorded_decide(batch):
            decision = decide(batch)
            self.decisions.append((agent.sim.now, batch.features.copy(), decision.actions.copy()))
            return decision

        def recorded_observe(obs):
            self.observations.append((agent.sim.now, obs.features.copy(), obs.labels.copy()))
            observe(obs)

        agent.decide, agent.observe = recorded_decide, recorded_observe


def taped_lending(lending_path: Path, open_loop: bool = False) -> Tape:
    sim = feedbacksim.load(lending_path).with_overrides(LENDING).build(seed=3)
    sim.environment.open_loop = open_loop
    tape = Tape(sim.agents[0])
    sim.run()
    return tape


def test_labels_arrive_exactly_label_delay_after_the_decision_and_only_for_approved(lending_path):
    tape = taped_lending(lending_path)
    decided = {t: (features, actions > 0) for t, features, actions in tape.decisions}
    assert len(decided) == LENDING["horizon"]
    expected = [t for t, (_, approved) in decided.items() if approved.any()]
    expected = [t + LABEL_DELAY for t in expected if t + LABEL_DELAY < LENDING["horizon"]]
    # One delivery per day that approved someone, exactly LABEL_DELAY days later.
    assert [t for t, _, _ in tape.observations] == expected
    rejected = 0
    for t, rows, _ in tape.observations:
        features, approved = decided[t - LABEL_DELAY]
        # Selective labels: the rows are those of the approved applicants, no others.
        np.testing.assert_array_equal(rows, features[approved])
        rejected += int((~approved).sum())
    assert rejected > 0, "the test needs days on which someone was refused"


def test_open_loop_lending_labels_every_applicant_after_the_delay(lending_path):
    tape = taped_lending(lending_path, open_loop=True)
    decided = {t: features for t, features, _ in tape.decisions}
    assert len(tape.observations) == LENDING["horizon"] - LABEL_DELAY
    for t, rows, _ in tape.observations:
        np.testing.assert_array_equal(rows, decided[t - LABEL_DELAY])


def twin_observations(scenario, monkeypatch) -> tuple[list, list]:
    """Run one replication; the rows its agent observed in the twin and in the closed loop."""
    tapes: dict[int, Tape] = {}
    twins: list[Trace] = []
    build, run = Simulation.run, running.run_analyzers

    def taped_run(sim):
        tape = Tape(sim.agents[0])
        trace = build(sim)
        tapes[id(trace)] = tape
        return trace

    def capture(analyzers, trace, twin, index):
        twins.append(twin)
        return run(analyzers, trace, twin, index)

    monkeypatch.setattr(Simulation, "run", taped_run)
    monkeypatch.setattr(running, "run_analyzers", capture)
    trace, _ = run_replication(scenario, 0, np.random.SeedSequence(5))
    (twin,) = twins
    assert twin is not None and twin is not trace
    return tapes[id(twin)].observations, tapes[id(trace)].observations


def test_open_loop_twin_observations_do_not_depend_on_decisions(policing_path, monkeypatch):
    base = feedbacksim.load(policing_path).with_overrides(
        {
            "horizon": 60,
            "analyzers": [
                {
                    "kind": "loop_amplification",
                    "metric": "patrol_share",
                    "reference": "true_incident_share",
                }  # fmt: skip
            ],
        }
    )
    twin_a, closed_a = twin_observations(base, monkeypatch)
    explore = base.with_overrides({"agents.dispatcher.policy.epsilon": 0.5})
    twin_b, closed_b = twin_observations(explore, monkeypatch)
    # The designs decide differently, so with the loop closed they see different rows ...
    assert [rows.tolist() for _, rows, _ in closed_a] != [rows.tolist() for _, rows, _ in closed_b]
    # ... and with it cut every region is observed every day, whatever was decided.
    assert len(twin_a) == len(twin_b) == 60
    for (ta, rows_a, labels_a), (tb, rows_b, labels_b) in zip(twin_a, twin_b, strict=True):
        assert ta == tb
        np.testing.assert_array_equal(rows_a, [[0.0], [1.0]])
        np.testing.assert_array_equal(rows_b, rows_a)
        np.testing.assert_array_equal(labels_b, labels_a)


def test_replications_differ_and_each_equals_a_run_of_its_own_seed(policing_path):
    scenario = feedbacksim.load(policing_path).with_overrides({"horizon": 80})
    results = scenario.run(replications=3, seed=11)
    frames = [results.trace(i).to_frame() for i in range(3)]
    values = [f["value"].to_numpy() for f in frames]
    assert not np.array_equal(values[0], values[1])
    assert not np.array_equal(values[1], values[2])
    # Replication i is the simulation of child i of the run's seed, and nothing else.
    children = np.random.SeedSequence(11).spawn(3)
    for i, child in enumerate(children):
        alone, _ = run_replication(scenario, i, child)
        pd.testing.assert_frame_equal(alone.to_frame(), frames[i], check_exact=True)


def test_per_group_metrics_keep_the_declared_group_order(lending_path, policing_path):
    # Lending: group 0 is N(700, 80), group 1 N(540, 80), 80% / 20% of the population.
    scenario = feedbacksim.load(lending_path).with_overrides(
        {**LENDING, "analyzers": [{"kind": "retrain_health", "min_group_share": 0.1}]}
    )
    sim = scenario.build(seed=4)
    world, initial = sim.environment, []
    start = world.start

    def snapshot_start():
        start()
        initial.append([world.scores[world.groups == g].mean() for g in (0, 1)])

    world.start = snapshot_start
    mean_score = sim.run()["mean_score"]
    assert mean_score.groups == ("0", "1")
    # The first day's mean of each group is the mean of that group's people, in order.
    np.testing.assert_allclose(mean_score.values[0], initial[0], rtol=1e-9)
    assert mean_score.group(0)[0] > mean_score.group(1)[0] + 100
    # Measured at each retrain: the training window's share of each group, in order.
    measured, _ = run_replication(scenario, 0, np.random.SeedSequence(4))
    share = measured["train_group_share"]
    assert share.groups == ("lender:0", "lender:1")
    assert share.values[0, 0] > 0.6 > 0.4 > share.values[0, 1]
    # Policing declares one group per region, in the order of incident_rates.
    policing = feedbacksim.load(policing_path).with_overrides({"horizon": 5}).build(seed=1).run()
    np.testing.assert_array_equal(policing["true_incident_share"].final, [0.6, 0.4])
    np.testing.assert_array_equal(policing["incident_rate"].final, [0.6, 0.4])
    # In the long frame (metrics.csv) each value sits beside its own group's label.
    frame = policing.to_frame()
    rates = frame[frame["metric"] == "incident_rate"].groupby("group")["value"].unique()
    assert {g: v.tolist() for g, v in rates.items()} == {"0": [0.6], "1": [0.4]}
    # Stored and read back, the groups and their columns stay together.
    arrays = Trace.from_arrays(policing.to_arrays())
    assert arrays["incident_rate"].groups == ("0", "1")
    np.testing.assert_array_equal(
        arrays["incident_rate"].group(1), policing["incident_rate"].group(1)
    )


class Midway(Exception):
    """The failure injected half way through a write."""


def half_then_fail(handle):
    handle.write("new content, first half")
    handle.flush()
    raise Midway


def test_an_atomic_write_that_fails_midway_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "findings.json"
    atomic_write_text(target, "old content")
    with pytest.raises(Midway):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "old content"

    # The disk fills up during the write: a run failure, the old file, no temporary file.
    def full(handle):
        handle.write("new")
        raise OSError(28, "No space left on device")

    with pytest.raises(RunFailure, match="No space left on device"):
        atomic_write(target, full)
    assert target.read_text() == "old content"
    # The rename itself fails: still the old file.
    import feedbacksim.run.files as files

    def no_rename(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(files.os, "replace", no_rename)
    with pytest.raises(RunFailure):
        atomic_write_text(target, "new content")
    monkeypatch.undo()
    assert target.read_text() == "old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json"]
    atomic_write_text(target, "new content")
    assert target.read_text() == "new content"
    # A first write that fails leaves no file at all.
    with pytest.raises(Midway):
        atomic_write(tmp_path / "fresh.json", half_then_fail)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json"]


def test_the_replication_store_never_counts_a_temporary_file_as_complete(
    policing_path, tmp_path, monkeypatch
):
    scenario = feedbacksim.load(policing_path).with_overrides({"horizon": 20})
    _, _, arrays, found = replicate(scenario.to_dict(), None, 0, 0, np.random.SeedSequence(1))
    store = ReplicationStore(tmp_path / "replications")
    store.write(0, arrays, found)

    def savez_half(handle, members):
        handle.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_module, "write_npz", savez_half)
    with pytest.raises(RunFailure):
        store.write(1, arrays, found)
    monkeypatch.undo()
    # Whatever a killed writer may leave: only complete files count.
    for name in (".rep-000002.npz.x1y2.tmp", ".rep-000003.npz.tmp", "rep-000004.npz.tmp"):
        (store.directory / name).write_bytes(b"partial")
    assert store.complete() == {0}
    store.remove_partial()
    assert sorted(p.name for p in store.directory.iterdir()) == [
        "rep-000000.npz",
        "rep-000004.npz.tmp",
    ]
    assert findings_to_json(store.load_findings(0)) == found
