"""Whether an agent's model can serve its world: a classifier with ``predict_proba``, a regressor.

A world declares what it needs of a model (``Environment.model_needs``, and optionally the
feedbacksim model kinds that serve it, ``model_kinds``); :func:`model_problem` checks a
scenario's model against it at load, so that a clusterer or a transformer given to a
lender is a scenario error with the file and line, not a verdict computed from cluster
labels. What an estimator is comes from scikit-learn itself (``is_classifier``,
``is_regressor``, ``is_clusterer``, ``is_outlier_detector`` and its tags), and a
``Pipeline`` is judged by its last step, the one that predicts.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from feedbacksim.core.estimator import Regressor
from feedbacksim.core.lazy_import import lazy_function

# scikit-learn is imported when a scikit-learn model is judged, not to validate a scenario
# whose models are the built-in array models (``validate`` stays fast).
is_classifier = lazy_function("sklearn.base", "is_classifier")
is_clusterer = lazy_function("sklearn.base", "is_clusterer")
is_outlier_detector = lazy_function("sklearn.base", "is_outlier_detector")
is_regressor = lazy_function("sklearn.base", "is_regressor")
get_tags = lazy_function("sklearn.utils", "get_tags")

if TYPE_CHECKING:
    from feedbacksim.core.registry import Component

#: what each declared need means, in the words of a refusal
NEEDS = {
    "classifier": "a classifier with predict_proba",
    "regressor": "a regressor",
    "scorer": "a classifier with predict_proba or a regressor",
}


def final_estimator(model: Any) -> tuple[Any, str]:
    """The step of ``model`` that predicts (a Pipeline's last step, recursively) and how to name it."""
    where = ""
    # A Pipeline exists only once scikit-learn's pipeline module has been imported.
    pipeline = sys.modules.get("sklearn.pipeline")
    while pipeline is not None and isinstance(model, pipeline.Pipeline):
        model = model.steps[-1][1]
        where = "the last step of the Pipeline, "
    return model, where


def describe(estimator: Any) -> str:
    """What ``estimator`` is, in scikit-learn's terms (``a clusterer``, ``a regressor``...)."""
    if estimator is None or estimator == "passthrough":
        return "'passthrough' (no estimator)"
    if is_classifier(estimator):
        return "a classifier" + (
            "" if hasattr(estimator, "predict_proba") else " without predict_proba"
        )
    if is_regressor(estimator):
        return "a regressor"
    if is_clusterer(estimator):
        return "a clusterer"
    if is_outlier_detector(estimator):
        return "an outlier detector"
    tags = get_tags(estimator)
    if tags.estimator_type == "density_estimator":
        return "a density estimator"
    if not hasattr(estimator, "predict"):
        return (
            "a transformer (it has no predict)"
            if hasattr(estimator, "transform")
            else ("an estimator with no predict")
        )
    return "an estimator of no type scikit-learn recognises (no ClassifierMixin or RegressorMixin)"


def serves(need: str, estimator: Any) -> bool:
    """Whether ``estimator`` (a fitted or unfitted instance) meets the declared ``need``."""
    if estimator is None or estimator == "passthrough":
        return False
    if isinstance(estimator, Regressor):  # a built-in array model: a regressor by definition
        return need in ("regressor", "scorer")
    classifier = is_classifier(estimator) and hasattr(estimator, "predict_proba")
    if need == "classifier":
        return classifier
    if need == "regressor":
        return is_regressor(estimator)
    if need == "scorer":
        return classifier or is_regressor(estimator)
    raise ValueError(f"unknown model need {need!r}; known: {', '.join(NEEDS)}")


def model_problem(world: type, world_kind: str, model: Any, model_kind: str) -> str | None:
    """The sentence refusing ``model`` (an instance) for ``world``, or None when it can serve."""
    need = getattr(world, "model_needs", None)
    if need is None:
        return None
    own = tuple(getattr(world, "model_kinds", ()))
    if "." not in model_kind and own:
        if model_kind in own:
            return None
        return (
            f"model {model_kind!r} is not one of the {world_kind} world's own models "
            f"({', '.join(own)}); it needs one of those or {NEEDS[need]}"
        )
    estimator, where = final_estimator(model)
    if serves(need, estimator):
        return None
    name = type(estimator).__name__ if estimator not in (None, "passthrough") else "it"
    name += ", is" if where else " is"
    return f"{where}{name} {describe(estimator)}; the {world_kind} world needs {NEEDS[need]}"


def spec_problem(
    world: Component, model_kind: str, params: dict[str, Any], plugins: list[str]
) -> str | None:
    """:func:`model_problem` for a scenario's model spec (kind and params), built the way a run builds it.

    A model that cannot be resolved or built is left to the other checks (they report it).
    """
    from feedbacksim.core.registry import registry
    from feedbacksim.models.saved import SavedModel
    from feedbacksim.scenario.components import estimator_params, resolve_model

    if getattr(world.cls, "model_needs", None) is None:
        return None
    if "." not in model_kind and tuple(getattr(world.cls, "model_kinds", ())):
        return model_problem(world.cls, world.kind, None, model_kind)  # decided by the kind
    try:
        component = resolve_model(model_kind, plugins)
        if component.kind in registry.kinds("model"):
            model = component.build(params)
        else:  # nested estimators (a Pipeline's steps) built as a run builds them
            model = component.cls(**estimator_params(params, plugins))
    except Exception:  # noqa: BLE001 - an unbuildable model is reported by the parameter checks
        return None
    if isinstance(model, SavedModel):  # known only once its file is loaded (at build)
        return None
    return model_problem(world.cls, world.kind, model, model_kind)
