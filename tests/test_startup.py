"""Commands that run nothing import no scikit-learn, scipy.stats, pandas or matplotlib."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone, is_classifier
from sklearn.utils.validation import check_is_fitted

from feedbacksim.core.estimator import Regressor
from feedbacksim.models import IncidentCountModel, LinearERM

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("sklearn", "scipy.stats", "scipy.special", "pandas", "matplotlib")

# Runs a command in a fresh interpreter and prints which heavy modules it imported.
PROBE = """
import contextlib, io, json, sys
from feedbacksim.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    code = main(sys.argv[1:])
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def heavy_imports(*argv: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["validate", "scenarios/predictive_policing.yaml"],
        ["run", "--help"],
    ],
)
def test_commands_that_run_nothing_import_no_heavy_module(argv):
    assert heavy_imports(*argv) == []


@pytest.mark.parametrize("argv", [["list"], ["schema"]])
def test_listing_every_component_imports_no_scikit_learn_or_scipy(argv):
    # Every component's parameter types are read; the tabular world's include a pandas
    # DataFrame, so pandas is the one heavy module these two still load.
    assert heavy_imports(*argv) in ([], ["pandas"])


def test_importtime_of_help_lists_no_scikit_learn():
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "feedbacksim", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in err.splitlines() if "|" in line}
    assert "feedbacksim.cli" in imported
    assert not {"sklearn", "pandas", "matplotlib", "scipy.stats"} & imported


def test_validating_a_scikit_learn_model_imports_scikit_learn():
    # The scenario at hand needs it: the dotted path must be imported to be checked.
    assert "sklearn" in heavy_imports("validate", "scenarios/lending.yaml")


class _Reference(RegressorMixin, BaseEstimator):
    pass


def test_regressor_base_follows_scikit_learns_protocol():
    model = IncidentCountModel(prior_counts=[1.0, 2.0], correction=True)
    assert isinstance(model, Regressor)
    assert model.get_params() == {"correction": True, "prior_counts": [1.0, 2.0]}
    copy = clone(model)
    assert copy is not model and copy.get_params() == model.get_params()
    assert not is_classifier(model)
    assert model.__sklearn_tags__() == _Reference().__sklearn_tags__()
    check_is_fitted(model)  # the prior counts are a usable model
    assert repr(model) == "IncidentCountModel(correction=True, prior_counts=[1.0, 2.0])"
    assert repr(IncidentCountModel()) == "IncidentCountModel()"
    with pytest.raises(ValueError, match="invalid parameter 'nope'"):
        model.set_params(nope=1)
    assert LinearERM().set_params(**LinearERM().get_params()).get_params() == (
        LinearERM().get_params()
    )
