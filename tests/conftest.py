"""Shared fixtures: paths of the shipped scenarios and a small custom world for core tests."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


@pytest.fixture
def policing_path() -> Path:
    return SCENARIOS / "predictive_policing.yaml"


@pytest.fixture
def corrected_path() -> Path:
    return SCENARIOS / "predictive_policing_corrected.yaml"


@pytest.fixture
def bandit_path() -> Path:
    return SCENARIOS / "bandit.yaml"


@pytest.fixture
def bandit_mitigated_path() -> Path:
    return SCENARIOS / "bandit_mitigated.yaml"


@pytest.fixture
def lending_path() -> Path:
    return SCENARIOS / "lending.yaml"


@pytest.fixture
def lending_mitigated_path() -> Path:
    return SCENARIOS / "lending_mitigated.yaml"


@pytest.fixture
def scenario_path():
    """Path of a shipped scenario by file name."""
    return lambda name: SCENARIOS / name
