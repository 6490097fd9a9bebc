"""The champion-challenger gate judges a challenger on recent labels held out of its fit."""

from __future__ import annotations

import re

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from feedbacksim.core.gates import ChampionChallengerGate
from feedbacksim.core.quality import auc
from feedbacksim.scenario import Scenario


def gated(model: dict, horizon: int = 10, **retrain) -> dict:
    """The toy world, every applicant accepted (labels for all), a gate on the agent."""
    return {
        "name": "gated",
        "horizon": horizon,
        "seed": 3,
        "plugins": ["toy_world"],
        "environment": {"kind": "toy", "params": {"batch_size": 200}},
        "agents": [
            {
                "name": "scorer",
                "model": model,
                "policy": {"kind": "threshold", "threshold": 0.0},
                "retrain": retrain or {"every": 1000},
                "gate": {"kind": "champion-challenger", "recent": 2000},
            }
        ],
    }


def test_holdout_is_the_newest_share_of_the_rows_the_champion_never_saw():
    gate = ChampionChallengerGate(recent=3, holdout=0.5)
    times = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4], dtype=float)
    # Rows after t=1: 6 of them; half is 3 (also the cap ``recent``): the newest three.
    assert np.flatnonzero(gate.holdout(times, times > 1)).tolist() == [7, 8, 9]
    assert np.flatnonzero(
        ChampionChallengerGate(recent=100).holdout(times, times > 3)
    ).tolist() == [9]
    assert not gate.holdout(times, times > 4).any()  # nothing new: nothing held out
    assert gate.accept(None, None, np.empty((0, 2)), np.empty(0)) == (
        True,
        "accepted unchecked: no held-out labels since the last deployment",
    )


def test_gate_rejects_an_overfit_challenger_the_old_gate_accepted():
    """A fully grown tree against a logistic champion on noisy labels (P(y=1) = sigmoid(x0 + x1)).

    The champion was fitted on the 1,000 rows up to t=4; the retrain at t=10 holds out the
    newest half of the 1,000 rows observed since (t=7.5 to 9: 500 rows, seen by neither
    model). On them the logistic champion's AUC is 0.757 and the tree's 0.620 (leaves of
    one or two rows: scores near 0 or 1); the standard error of an AUC on 500 rows is about
    0.02, so the gap of 0.137 is about six of them, and the bounds below (0.72, 0.68, a gap
    of 0.08) sit two standard errors inside. The old gate scored both on the 2,000 most
    recent rows, the tree's own training rows: the tree's AUC there is 1.0 against the
    champion's 0.789, so it accepted the overfit model.
    """
    simulation = Scenario.from_dict(
        gated({"kind": "sklearn.tree.DecisionTreeClassifier", "params": {"random_state": 0}})
    ).build(seed=3)
    simulation.run()
    agent = simulation.agents[0]
    rows = agent.data.rows()
    early = rows["time"] <= 4
    champion = LogisticRegression().fit(rows["features"][early], rows["labels"][early])
    agent.deployed, agent._fitted = champion, True
    agent._deployed_seen, agent._deployed_at = int(early.sum()), 4.0

    recent = np.argsort(rows["time"], kind="stable")[-2000:]
    tree_on_all = clone(agent.model).fit(rows["features"], rows["labels"])
    old_tree = auc(
        rows["labels"][recent], tree_on_all.predict_proba(rows["features"][recent])[:, 1]
    )
    old_champion = auc(
        rows["labels"][recent], champion.predict_proba(rows["features"][recent])[:, 1]
    )
    assert old_tree > 0.97 and old_champion < 0.8  # the old comparison favoured the tree

    assert not agent.retrain()
    rejected = simulation.recorder.trace().events_of("deploy_rejected")
    assert len(rejected) == 1 and "held out" in rejected[0][3]
    challenger, champion_auc = map(float, re.findall(r"\d\.\d{4}", rejected[0][3]))
    assert champion_auc > 0.72 and challenger < 0.68 and champion_auc - challenger > 0.08
    assert agent.deployed is champion
    assert "on the 500 most recent" in rejected[0][3]


def test_gate_accepts_a_sound_challenger_trained_without_the_held_out_rows():
    """A logistic challenger against the same logistic champion: trained on more data, no worse."""
    simulation = Scenario.from_dict(
        gated({"kind": "sklearn.linear_model.LogisticRegression"}, horizon=11, every=5)
    ).build(seed=3)
    trace = simulation.run()
    deployed = [e for e in trace.events if e[1] in ("retrain", "deploy_rejected")]
    # t=5: the first fit (nothing deployed, no gate), on the 1,000 rows of t=0-4; t=10:
    # gated, the newest 500 of the 1,000 rows of t=5-9 held out, trained on the other 1,500.
    assert [(e[0], e[1]) for e in deployed] == [(5.0, "retrain"), (10.0, "retrain")]
    assert deployed[1][3] == "rows=1500"


def test_incremental_updates_keep_held_out_rows_for_the_next_update():
    simulation = Scenario.from_dict(
        gated(
            {"kind": "sklearn.linear_model.SGDClassifier", "params": {"loss": "log_loss"}},
            horizon=6,
            every=2,
            mode="incremental",
        )
    ).build(seed=3)
    simulation.run()
    agent = simulation.agents[0]
    # t=2: the first fit, on the 400 rows of t=0-1. t=4: an update on the 400 rows of
    # t=2-3, the newest 200 held out to judge it; they stay unconsumed, so the next update
    # trains on them: 600 rows consumed of the 1,200 observed by the end (t=5).
    assert agent.retrains == 2 and len(agent.data) == 1200
    assert agent.data.consumed == 600
