"""A world refuses at load a model that cannot serve it, with the file, the line and a sentence."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from sklearn.cluster import KMeans
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from feedbacksim.cli import main
from feedbacksim.scenario.capabilities import describe, model_problem, serves
from feedbacksim.worlds.lending import LendingWorld
from feedbacksim.worlds.policing import PolicingWorld

LENDING = Path(__file__).resolve().parents[1] / "scenarios" / "lending.yaml"
SHIPPED_MODEL = "kind: sklearn.linear_model.LogisticRegression, params: {solver: liblinear}"


def with_model(tmp_path: Path, model: str, plugins: str = "") -> Path:
    text = LENDING.read_text()
    assert SHIPPED_MODEL in text
    path = tmp_path / "lending.yaml"
    path.write_text(plugins + text.replace(SHIPPED_MODEL, model))
    return path


def model_line(path: Path) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if "model: {" in line)


@pytest.mark.parametrize(
    ("model", "sentence"),
    [
        ("sklearn.cluster.KMeans", "KMeans is a clusterer"),
        ("sklearn.linear_model.LinearRegression", "LinearRegression is a regressor"),
        (
            "sklearn.preprocessing.StandardScaler",
            "StandardScaler is a transformer (it has no predict)",
        ),
        ("sklearn.svm.LinearSVC", "LinearSVC is a classifier without predict_proba"),
        ("sklearn.ensemble.IsolationForest", "IsolationForest is an outlier detector"),
        # feedbacksim's own Gaussian model (of the model-collapse world) is a regressor.
        ("gaussian", "is a regressor; the lending world needs a classifier with predict_proba"),
    ],
)
def test_lending_refuses_a_model_that_cannot_serve(model, sentence, tmp_path, capsys):
    path = with_model(tmp_path, f"kind: {model}")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    line = model_line(path)
    assert err[0].startswith(f"error: {path}:{line}:"), err
    assert "agents.lender.model.kind: " in err[0]
    if "." in model:
        assert err[0].endswith(
            f"{sentence}; the lending world needs a classifier with predict_proba"
        )
    else:
        assert sentence in err[0]


def test_the_shipped_classifier_and_a_tree_serve_the_lender(tmp_path, capsys):
    assert main(["validate", str(LENDING)]) == 0
    path = with_model(tmp_path, "kind: sklearn.tree.DecisionTreeClassifier")
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


PLUGIN = """
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


class ScaledKMeans(Pipeline):
    def __init__(self, n_clusters=2):
        self.n_clusters = n_clusters
        super().__init__([("scale", StandardScaler()), ("cluster", KMeans(n_clusters))])


class ScaledLogistic(Pipeline):
    def __init__(self, C=1.0):
        self.C = C
        super().__init__([("scale", StandardScaler()), ("logistic", LogisticRegression(C=C))])
"""


def test_a_pipeline_is_judged_by_its_last_step(tmp_path, capsys, monkeypatch):
    (tmp_path / "pipeline_models.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    path = with_model(
        tmp_path, "kind: pipeline_models.ScaledKMeans", "plugins: [pipeline_models]\n"
    )
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{model_line(path)}:" in err
    assert (
        "the last step of the Pipeline, KMeans, is a clusterer; the lending world needs a "
        "classifier with predict_proba"
    ) in err
    path = with_model(
        tmp_path, "kind: pipeline_models.ScaledLogistic", "plugins: [pipeline_models]\n"
    )
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


def test_model_problem_on_instances():
    assert (
        model_problem(
            LendingWorld, "lending", make_pipeline(StandardScaler(), LogisticRegression()), "x.y"
        )
        is None
    )
    assert model_problem(
        LendingWorld, "lending", make_pipeline(StandardScaler(), KMeans()), "x.y"
    ) == (
        "the last step of the Pipeline, KMeans, is a clusterer; the lending world needs a "
        "classifier with predict_proba"
    )
    assert describe(make_pipeline(StandardScaler()).steps[-1][1]).startswith("a transformer")
    assert serves("scorer", LinearRegression()) and serves("scorer", LogisticRegression())
    assert not serves("regressor", LogisticRegression())
    # A world's own model kinds: the policing world takes its incident models, not others.
    assert model_problem(PolicingWorld, "policing", None, "incident-rate") is None
    assert "not one of the policing world's own models" in model_problem(
        PolicingWorld, "policing", None, "gaussian"
    )
