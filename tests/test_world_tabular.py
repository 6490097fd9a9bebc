"""The tabular world: a user's table, Pipeline and decision rule in the loop, with numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import feedbacksim
from feedbacksim.core.agent import Agent
from feedbacksim.core.policies import ThresholdPolicy
from feedbacksim.core.quality import weighted_auc
from feedbacksim.core.simulation import Simulation
from feedbacksim.errors import ScenarioError
from feedbacksim.worlds.table_shifts import Schedule
from feedbacksim.worlds.tabular import TabularWorld, read_table

CREDIT = "feedbacksim:german_credit.csv"
CATEGORICAL = ["checking_status", "credit_history", "savings", "purpose"]
NUMERIC = ["duration_months", "credit_amount", "age", "installment_rate"]


def credit_pipeline(classifier=None) -> Pipeline:
    """The user's Pipeline, as a team would write it for the German credit table."""
    encode = ColumnTransformer(
        [("categories", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)],
        remainder=StandardScaler(),
    )
    return Pipeline([("encode", encode), ("classify", classifier or LogisticRegression())])


def credit_world(**params) -> TabularWorld:
    base = {
        "data": CREDIT,
        "label": "repaid",
        "group": "age_group",
        "features": CATEGORICAL + NUMERIC,
        "cases_per_step": 40,
    }
    return TabularWorld(**{**base, **params})


def run(world, model, horizon=60, threshold=0.6, seed=0, **agent_kwargs):
    agent_kwargs.setdefault("pretrain_samples", 300)
    agent = Agent("lender", model, ThresholdPolicy(threshold=threshold), **agent_kwargs)
    sim = Simulation(world, [agent], horizon, seed)
    return sim.run(), agent


def test_german_credit_is_shipped_whole():
    table = read_table(CREDIT, None)
    assert table.shape == (1000, 22)
    assert table["repaid"].sum() == 700  # UCI: 700 good, 300 bad
    assert (table["age_group"] == "under_25").sum() == 149


def test_yaml_pipeline_runs_on_german_credit_unchanged():
    """ColumnTransformer + OneHotEncoder + HistGradientBoostingClassifier from the shipped YAML."""
    scenario = feedbacksim.load(SCENARIOS / "credit_table.yaml").with_overrides({"horizon": 35})
    sim = scenario.build(seed=3)
    trace = sim.run()
    model = sim.agents[0].deployed
    assert isinstance(model, Pipeline)
    assert isinstance(model.named_steps["classify"], HistGradientBoostingClassifier)
    assert isinstance(model.named_steps["encode"].transformers_[0][1], OneHotEncoder)
    retrains = [e for e in trace.events if e[1] == "retrain"]
    assert len(retrains) == 2  # pretraining at 0 and the schedule at 30
    auc = trace["holdout_auc"].group("all")
    # Measured 0.76-0.79 on the held-out 300 rows; a model that learned nothing gives 0.5.
    assert auc[-1] > 0.7


def test_python_dataframe_and_pipeline_with_categorical_dtypes():
    table = read_table(CREDIT, None).drop(columns=["age_group"])
    seen = []

    class Spy(TransformerMixin, BaseEstimator):
        """The first step of the user's Pipeline: records what the Pipeline is given."""

        def fit(self, X, y=None):
            return self

        def transform(self, X):
            seen.append(X)
            return X

    world = TabularWorld(data=table, label="repaid", features=CATEGORICAL + NUMERIC)
    model = credit_pipeline()
    model.steps.insert(0, ("spy", Spy()))
    trace, agent = run(world, model, horizon=10)
    batch = seen[-1]
    assert list(batch.columns) == CATEGORICAL + NUMERIC
    assert all(isinstance(batch[c].dtype, pd.CategoricalDtype) for c in CATEGORICAL)
    assert all(batch[c].dtype == np.int64 for c in NUMERIC)
    # The table's categories, whatever arrived in the batch.
    assert set(batch["purpose"].cat.categories) == set(table["purpose"])
    assert isinstance(agent.data.rows()["features"], pd.DataFrame)
    assert trace["holdout_auc"].group("all")[-1] > 0.7


@pytest.mark.parametrize(("reveals", "direction"), [("acted", 1), ("not_acted", -1)])
def test_selective_labels_hold_only_revealed_rows_biased_as_theory_says(reveals, direction):
    """Only acted-on (or only passed-over) rows are labelled; their label rate departs from the population's.

    Approving when P(repaid) >= 0.6 with a model of AUC ~0.78 selects on a score that rises
    with the label, so E[y | approved] > E[y] > E[y | denied].
    """
    world = credit_world(reveals=reveals, label_delay=0)
    trace, agent = run(world, credit_pipeline(), horizon=100, retrain_every=1000)
    rows = agent.data.rows()
    since = rows["time"] > 0  # pretraining rows (time 0) are an unbiased history
    acceptance = trace["acceptance_rate"]
    share = trace["arrival_share"].values
    acted = (acceptance.values * share).sum(axis=1) * world.cases_per_step
    expected = acted[1:].sum() if reveals == "acted" else (40 - acted[1:]).sum()
    # Labels delivered at day t arrive with it, so days 1..99 are in the window.
    assert since.sum() == pytest.approx(expected, abs=1e-6)
    population = world.live[1].mean()  # 0.687 in the arrivals part
    observed = rows["labels"][since].mean()
    # Measured 0.807 (2,568 approved rows) and 0.469 (1,392 denied rows): standard errors
    # 0.008 and 0.013, so a 0.05 margin is more than three of them (the gaps are 0.12, 0.22).
    assert direction * (observed - population) > 0.05


def test_strategic_response_equals_closed_form_for_a_linear_model():
    """A linear logit w.x + b with quadratic cost c/2 |move|^2: the best response moves feature j by w_j / c."""
    cost = 0.5
    features = ["duration_months", "credit_amount", "age", "installment_rate"]
    shift = {"kind": "strategic", "mutable": ["duration_months", "age"], "cost": cost}
    world = credit_world(features=features, shifts=[shift])
    model = LogisticRegression(max_iter=1000)
    trace, agent = run(world, model, horizon=3, retrain_every=1000)
    w = dict(zip(features, agent.deployed.coef_[0], strict=True))
    moves = trace["strategic_move"]
    for feature in ("duration_months", "age"):
        measured = moves.group(feature)[-1]
        # The forward difference of a linear logit is exact up to rounding: 1e-9 relative.
        assert measured == pytest.approx(w[feature] / cost, rel=1e-9)
        assert measured != 0.0
    # Immutable (unlisted) features never move: the arrivals' credit_amount is the table's.
    assert list(moves.groups) == ["age", "duration_months"]


def test_covariate_and_prior_shifts_reach_their_targets():
    # Under-25s are 149 / 1000 of the table; weight x3 gives 3p / (3p + 1 - p).
    covariate = {"kind": "covariate", "column": "age_group", "value": "under_25", "factor": 3.0}
    world = credit_world(shifts=[covariate], cases_per_step=200)
    trace, _ = run(world, credit_pipeline(), horizon=100, retrain_every=1000)
    p = world.live[2].mean()  # share of under-25 codes (1) in the arrivals part
    target = 3 * p / (3 * p + 1 - p)
    share = trace["arrival_share"].group("under_25").mean()
    # 20,000 arrivals: SE of the share sqrt(0.34 * 0.66 / 20000) = 0.0034; margin 4 SE.
    assert share == pytest.approx(target, abs=0.014)

    prior = {"kind": "prior", "positive_rate": 0.5}
    world = credit_world(shifts=[prior], cases_per_step=200)
    trace, _ = run(world, credit_pipeline(), horizon=100, retrain_every=1000)
    weights = trace["arrival_share"].values
    overall = (trace["positive_rate"].values * weights).sum(axis=1).mean()
    assert overall == pytest.approx(0.5, abs=0.015)  # same SE argument: 0.0035
    assert trace["holdout_positive_rate"].group("all")[-1] == pytest.approx(0.5, abs=1e-9)


def test_concept_shift_flips_labels_in_its_region_on_schedule():
    shift = {
        "kind": "concept",
        "column": "checking_status",
        "value": "A14",
        "flip": 0.5,
        "schedule": {"kind": "sudden", "start": 20},
    }
    world = credit_world(shifts=[shift], measure_every=1)
    trace, _ = run(world, credit_pipeline(), horizon=40, retrain_every=1000)
    frame, labels, _ = world.hold
    region = (frame["checking_status"] == "A14").to_numpy()
    before = labels.mean()
    # Expected labels: in the region a flip with probability 0.5 makes the rate 0.5.
    after = (labels[~region].sum() + 0.5 * region.sum()) / labels.shape[0]
    rate = trace["holdout_positive_rate"].group("all")
    assert rate[19] == pytest.approx(before, abs=1e-12)
    assert rate[20] == pytest.approx(after, abs=1e-12)
    auc = trace["holdout_auc"].group("all")
    assert auc[25] < auc[15] - 0.05  # the old model is wrong in the region


def test_population_feedback_denied_return_changed_or_leave():
    feedback = {
        "kind": "feedback",
        "returns": 0.5,
        "leave": 0.5,
        "delay": 5,
        "change": {"credit_amount": -500.0},
    }
    world = credit_world(shifts=[feedback], label_delay=0)
    trace, agent = run(world, credit_pipeline(), horizon=30, retrain_every=1000, threshold=0.7)
    # A denied kind of case leaves with probability 0.5 each time: its weight is 0.5^k.
    presence = world._presence
    assert presence.min() < 1.0
    powers = np.log2(presence)
    assert np.allclose(powers, np.round(powers))
    # Denied cases of the last 5 days are still due back, 500 DM smaller per denial.
    assert world._returning
    back = np.concatenate([r[0]["credit_amount"].to_numpy() for r in world._returning])
    amounts = set(read_table(CREDIT, None)["credit_amount"])
    assert all(any(a + 500 * k in amounts for k in range(1, 7)) for a in back)


def test_schedules():
    gradual = Schedule(kind="gradual", start=10, end=20)
    assert [gradual.intensity(t) for t in (5, 10, 15, 20, 30)] == [0, 0, 0.5, 1, 1]
    seasonal = Schedule(kind="seasonal", start=0, period=100)
    assert seasonal.intensity(50) == pytest.approx(1.0)
    assert seasonal.intensity(100) == pytest.approx(0.0)
    assert Schedule(kind="sudden", start=3).intensity(2.9) == 0.0


def test_weighted_auc_matches_scikit_learn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500).astype(float)
    s = np.round(rng.random(500) + 0.3 * y, 2)  # ties on purpose
    w = rng.random(500)
    assert weighted_auc(y, s, w) == pytest.approx(roc_auc_score(y, s, sample_weight=w), abs=1e-12)


def test_invalid_table_parameters_are_scenario_problems(tmp_path):
    text = (SCENARIOS / "credit_table.yaml").read_text()
    bad = text.replace("label: repaid", "label: paid_back")
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    with pytest.raises(ScenarioError, match="label column 'paid_back' is not in the table"):
        feedbacksim.load(path)


def test_a_feature_named_twice_is_a_scenario_problem(tmp_path):
    # Found by the document fuzz: a repeated column made a frame with duplicate columns and
    # crashed the load.
    text = (SCENARIOS / "monitoring.yaml").read_text()
    path = tmp_path / "twice.yaml"
    twice = text.replace(
        "features: [checking_status,", "features: [checking_status, checking_status,", 1
    )
    assert twice != text
    path.write_text(twice)
    with pytest.raises(ScenarioError, match="named more than once"):
        feedbacksim.load(path)


class Doubler(TransformerMixin, BaseEstimator):
    """A custom transformer: skops does not trust it by default."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float) * 2


def test_skops_refuses_an_untrusted_type_and_loads_a_trusted_one(tmp_path):
    sio = pytest.importorskip("skops.io")
    numeric = ["duration_months", "credit_amount", "age"]
    table = read_table(CREDIT, None)
    model = Pipeline([("double", Doubler()), ("classify", LogisticRegression(max_iter=500))])
    model.fit(table[numeric], table["repaid"])
    sio.dump(model, tmp_path / "model.skops")
    scenario = {
        "name": "saved",
        "horizon": 3,
        "environment": {
            "kind": "tabular",
            "params": {"data": CREDIT, "label": "repaid", "features": numeric},
        },
        "agents": [
            {
                "name": "lender",
                "model": {"kind": "skops", "params": {"path": "model.skops"}},
                "policy": {"kind": "threshold", "threshold": 0.6},
                "retrain": {"every": 100},
            }
        ],
    }
    path = tmp_path / "saved.yaml"
    import yaml

    path.write_text(yaml.safe_dump(scenario))
    name = f"{Doubler.__module__}.Doubler"
    with pytest.raises(ValueError, match=rf"untrusted type\(s\) {name}"):
        feedbacksim.load(path).build(seed=0)
    scenario["agents"][0]["model"]["params"]["trusted"] = [name]
    path.write_text(yaml.safe_dump(scenario))
    sim = feedbacksim.load(path).build(seed=0)
    trace = sim.run()
    assert isinstance(sim.agents[0].deployed.named_steps["double"], Doubler)
    assert trace["holdout_auc"].group("all")[0] > 0.55  # the saved model, deployed as loaded


def test_no_pickle_or_joblib_in_the_package():
    import re
    from pathlib import Path

    root = Path(feedbacksim.__file__).parent
    imports = re.compile(r"^\s*(import|from)\s+(pickle|cPickle|joblib|cloudpickle|dill)\b", re.M)
    for source in root.rglob("*.py"):
        assert not imports.search(source.read_text()), source


def test_a_pipeline_that_cannot_score_is_refused_at_load(tmp_path):
    text = (SCENARIOS / "credit_table.yaml").read_text()
    bad = text.replace(
        "kind: sklearn.ensemble.HistGradientBoostingClassifier\n"
        "              params: {max_iter: 60, learning_rate: 0.1, random_state: 0}",
        "kind: sklearn.cluster.KMeans",
    )
    assert bad != text
    path = tmp_path / "kmeans.yaml"
    path.write_text(bad)
    with pytest.raises(
        ScenarioError, match="KMeans, is a clusterer; the tabular world needs a classifier"
    ):
        feedbacksim.load(path)
