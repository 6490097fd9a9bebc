"""The registry: parameter models from signatures, strict values, suggestions, plugin origins."""

from __future__ import annotations

import pydantic
import pytest

from feedbacksim.core.registry import Registry, registry


def test_unknown_kind_suggests_the_closest():
    with pytest.raises(KeyError, match="did you mean 'proportional'"):
        registry.get("policy", "proportinal")
    with pytest.raises(KeyError, match="known: .*proportional, .*threshold, top-k") as info:
        registry.get("policy", "zzz")
    known = str(info.value).split("known: ")[1].rstrip("\"'").split(", ")
    assert known == sorted(known)


def test_params_are_taken_as_written():
    """A quoted number is not a number and 1 is not true: nothing is coerced."""
    policing = registry.get("environment", "policing")
    assert policing.validate({"incident_rates": [0.6, 0.4], "patrols_per_day": 2}) == {
        "incident_rates": [0.6, 0.4],
        "patrols_per_day": 2,
    }
    for params in (
        {"incident_rates": [0.6, 0.4], "patrols_per_day": "2"},
        {"incident_rates": [0.6, 0.4], "patrols_per_day": True},
        {"incident_rates": ["0.6", 0.4]},
    ):
        with pytest.raises(pydantic.ValidationError):
            policing.validate(params)


def test_components_from_entry_points_are_marked_installed(monkeypatch):
    fresh = Registry()

    class Loaded:
        def load(self):
            @fresh.register("policy", "from-package")
            class FromPackage:
                def __init__(self, width: float = 1.0) -> None:
                    self.width = width

    @fresh.register("policy", "from-code")
    class FromCode:
        pass

    monkeypatch.setattr(
        "importlib.metadata.entry_points", lambda group: [Loaded()] if group else []
    )
    assert fresh.get("policy", "from-package").installed
    assert not fresh.get("policy", "from-code").installed
    assert fresh.get("policy", "from-package").defaults() == {"width": 1.0}
