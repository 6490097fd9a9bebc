"""A hypothesis settings profile for property tests of designs in CI.

Simulations are slow next to the functions hypothesis usually tests and their run time
varies with the parameters, so the profile has no deadline and does not flag slow data
generation, and skips hypothesis's explain phase; it is derandomized so that a CI run fails or passes the same way every time
(no example database either: nothing carries over between runs); and its example count
comes from the ``FEEDBACKSIM_MAX_EXAMPLES`` environment variable, so that a pull request
can run a few examples and a nightly job many.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, Phase, settings

PROFILE = "feedbacksim-ci"
MAX_EXAMPLES_VARIABLE = "FEEDBACKSIM_MAX_EXAMPLES"
DEFAULT_MAX_EXAMPLES = 25


def max_examples() -> int:
    """The example count from ``FEEDBACKSIM_MAX_EXAMPLES`` (default 25).

    Raises:
        ValueError: the variable is set but is not a positive integer.
    """
    text = os.environ.get(MAX_EXAMPLES_VARIABLE, "").strip()
    if not text:
        return DEFAULT_MAX_EXAMPLES
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{MAX_EXAMPLES_VARIABLE} must be a positive integer, got {text!r}")
    return value


def ci_settings(**changes: Any) -> settings:
    """The CI settings (read from the environment now), with ``changes`` on top.

    Use as a decorator: ``@ci_settings()`` above ``@given(...)``.
    """
    options: dict[str, Any] = {
        "deadline": None,
        "derandomize": True,
        "database": None,
        "max_examples": max_examples(),
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
        "print_blob": False,
        # The explain phase reruns variations of the failing example to annotate it: with
        # simulations that costs minutes and adds nothing the reproduction command lacks.
        "phases": [p for p in Phase if p is not Phase.explain],
    }
    return settings(**{**options, **changes})


def register_profile() -> None:
    """Register the profile as ``feedbacksim-ci`` (load it with ``--hypothesis-profile``)."""
    settings.register_profile(PROFILE, ci_settings())
