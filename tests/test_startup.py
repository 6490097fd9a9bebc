"""Commands that run nothing import no scikit-learn, scipy.stats, pandas or matplotlib."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone, is_classifier
from sklearn.utils.validation import check_is_fitted

from feedbacksim.core.estimator import Regressor
from feedbacksim.core.lazy_import import lazy_type
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
        ["--version"],
        ["list"],
        ["schema"],
        ["validate", "scenarios/predictive_policing.yaml"],
        ["validate", "scenarios/predictive_policing_corrected.yaml"],
        *([command, "--help"] for command in ("run", "sweep", "compare", "validate", "report")),
    ],
)
def test_commands_that_run_nothing_import_no_heavy_module(argv):
    # ``list`` and ``schema`` read every component's parameter types, the tabular world's
    # ``pandas.DataFrame`` included, without importing pandas.
    assert heavy_imports(*argv) == []


def test_list_and_schema_name_the_tabular_worlds_dataframe_parameter():
    out = subprocess.run(
        [sys.executable, "-m", "feedbacksim", "list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    ).stdout
    assert "data: str | DataFrame = required" in out


def test_a_lazily_typed_parameter_still_takes_a_dataframe():
    import pandas as pd

    from feedbacksim.core.registry import registry

    tabular = registry.get("environment", "tabular")
    frame = pd.DataFrame({"x": [0.0, 1.0], "y": [0, 1]})
    assert tabular.validate({"data": frame, "label": "y"})["data"] is frame
    with pytest.raises(ValueError, match="instance of DataFrame"):
        tabular.validate({"data": [1, 2], "label": "y"})


def test_lazy_type_checks_instances_without_importing_its_module():
    stand_in = lazy_type("feedbacksim_no_such_module", "Frame")
    assert stand_in.__name__ == "Frame" and not isinstance(object(), stand_in)
    assert "feedbacksim_no_such_module" not in sys.modules
    assert isinstance(Path("."), lazy_type("pathlib", "PurePath"))
    assert issubclass(Path, lazy_type("pathlib", "PurePath"))


def run_fresh(code: str) -> str:
    """``code`` run in a fresh interpreter; its standard output."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_package_import_is_light_and_its_names_resolve_on_access():
    out = run_fresh(
        "import json, sys\n"
        "import feedbacksim\n"
        f"before = sorted(m for m in {HEAVY!r} + ('feedbacksim.run', 'feedbacksim.scenario')"
        " if m in sys.modules)\n"
        "from feedbacksim import Scenario, load, Results, register, registry, ScenarioError\n"
        "from feedbacksim import *\n"
        "names = {n: type(getattr(feedbacksim, n)).__name__ for n in feedbacksim.__all__}\n"
        "print(json.dumps([before, names, set(feedbacksim.__all__) <= set(dir(feedbacksim)),"
        " load is feedbacksim.scenario.scenario.load]))\n"
    )
    before, names, listed, same = json.loads(out.strip().splitlines()[-1])
    assert before == []
    assert names["registry"] == "Registry" and names["load"] == "function"
    assert names["Scenario"] == names["Results"] == "type"
    assert listed and same


def test_facades_work_when_only_a_lower_layer_is_imported(tmp_path):
    # No ``import feedbacksim`` wiring: the scenario layer's ``run`` reaches the run layer,
    # and ``Results.save`` the report layer, by name on first call.
    out = run_fresh(
        "import sys\n"
        "from pathlib import Path\n"
        "from feedbacksim.scenario.scenario import load\n"
        "assert 'feedbacksim.run.runner' not in sys.modules\n"
        "s = load('scenarios/predictive_policing.yaml').with_overrides({'horizon': 30})\n"
        "results = s.run(replications=2)\n"
        f"out = results.save(Path({str(tmp_path)!r}) / 'run')\n"
        "print(results.verdict, (out / 'report.html').is_file())\n"
    )
    verdict, has_report = out.split()[-2:]
    assert verdict in ("pass", "fail", "inconclusive") and has_report == "True"


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
