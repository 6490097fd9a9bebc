"""Log run and sweep directories to MLflow, the experiment tracker ML teams already use.

One MLflow run per scenario run: the resolved scenario (flattened to dotted keys), seed,
replications and ``--set`` overrides as params; each analyzer's fail fraction (with its
95% interval) and median first detection, every analyzed metric's final value per
replication (``step`` = replication) and each replication's first detection time as
metrics; the verdict and the feedbacksim version as tags; ``report.html``, ``report.md``,
``findings.json``, ``manifest.json`` and ``figures/`` as artifacts. A sweep is a parent run
(the base scenario, the plan, ``sweep.csv``, the phase diagram) with one child run per
point (its overrides as params, its fail fractions as metrics, its verdict as a tag).

Everything is read from the directory the command wrote, like the report, so a run can be
logged later with the same result. mlflow is the optional extra ``feedbacksim[mlflow]`` and
is imported only when something is logged.

A tracking URI with a scheme (``http://``, ``sqlite://``, ``databricks``, ``file:``) is used
as given. A plain path names a local store: ``PATH/mlflow.db`` (SQLite) with artifacts in
``PATH/artifacts``. The default is ``mlruns`` in the current directory. (MLflow 3 refuses
its older file store unless ``MLFLOW_ALLOW_FILE_STORE=true``; SQLite is what it recommends.)
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from feedbacksim.errors import ScenarioError

DEFAULT_STORE = "mlruns"
MLFLOW_MISSING = '--mlflow needs MLflow: pip install "feedbacksim[mlflow]"'
MAX_PARAM_LENGTH = 6000  # MLflow's limit on a param value
ARTIFACTS = ("report.html", "report.md", "findings.json", "manifest.json", "sweep.csv")


def require_mlflow() -> None:
    """Raise a one-line ScenarioError (exit 2) when mlflow is not installed."""
    if importlib.util.find_spec("mlflow") is None:
        raise ScenarioError(MLFLOW_MISSING)


def resolve_uri(uri: str | None) -> tuple[str, str | None]:
    """``(tracking URI, artifact location for new experiments or None)`` for ``uri``."""
    target = uri or DEFAULT_STORE
    if "://" in target or target.startswith(("file:", "databricks")):
        return target, None
    store = Path(target).expanduser().resolve()
    store.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{store / 'mlflow.db'}", (store / "artifacts").as_uri()


@contextmanager
def _quiet_logs() -> Iterator[None]:
    """MLflow and its database migrations log at INFO on stderr; keep them to warnings."""
    loggers = [logging.getLogger(name) for name in ("mlflow", "alembic")]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for log, level in zip(loggers, levels, strict=True):
            log.setLevel(level)


def _experiment(client: Any, name: str, artifacts: str | None) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    return str(client.create_experiment(name, artifact_location=artifacts))


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """A nested scenario as ``{"environment.params.incident_rates": "[0.6, 0.4]", ...}``.

    Mappings are flattened; lists and scalars become JSON text (long values truncated).
    """
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for key, item in value.items():
            if key == "agents" and isinstance(item, list) and not prefix:
                for agent in item:
                    name = agent.get("name", "agent") if isinstance(agent, dict) else "agent"
                    out.update(flatten(agent, f"agents.{name}."))
                continue
            out.update(flatten(item, f"{prefix}{key}."))
        return out
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return {prefix.rstrip("."): str(text).strip()[:MAX_PARAM_LENGTH]}


def _key(text: str) -> str:
    """A metric name MLflow accepts (letters, digits, ``_-. /``)."""
    return "".join(c if c.isalnum() or c in "_-. /" else "_" for c in text)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def summary_metrics(summaries: list[dict[str, Any]]) -> dict[str, float]:
    """Fail fraction, its interval and the median first detection of each analyzer."""
    out: dict[str, float] = {}
    for s in summaries:
        name = _key(s["analyzer"])
        out[f"fail_fraction.{name}"] = float(s["fail_fraction"])
        out[f"fail_fraction_low.{name}"] = float(s["interval"][0])
        out[f"fail_fraction_high.{name}"] = float(s["interval"][1])
        out[f"failed_replications.{name}"] = float(s["failed_replications"])
        if _finite(s.get("median_detection")):
            out[f"median_detection.{name}"] = float(s["median_detection"])
    return out


def _final_values(directory: Path, scenario: dict[str, Any]) -> dict[int, dict[str, float]]:
    """Per replication: the last value of every analyzed metric, per group."""
    from feedbacksim.report.build import analyzed_metrics, read_metrics

    frame = read_metrics(directory)
    wanted = [m for m, _ in analyzed_metrics(scenario, set(frame["metric"].unique()))]
    sub = frame[frame["metric"].isin(wanted)]
    last = sub.sort_values("time").groupby(["replication", "metric", "group"]).tail(1)
    out: dict[int, dict[str, float]] = {}
    for row in last.itertuples(index=False):
        name = f"final.{row.metric}" + (f".{row.group}" if str(row.group) else "")
        if _finite(float(row.value)):
            out.setdefault(int(row.replication), {})[_key(name)] = float(row.value)
    return out


def _detections(findings: list[dict[str, Any]]) -> dict[int, dict[str, float]]:
    """Per replication: each analyzer's earliest first detection."""
    out: dict[int, dict[str, float]] = {}
    for f in findings:
        when, replication = f.get("first_detected_at"), f.get("replication")
        if not isinstance(when, int | float) or not _finite(when) or replication is None:
            continue
        key = _key(f"detection.{f['analyzer']}")
        current = out.setdefault(int(replication), {})
        current[key] = min(float(when), current.get(key, math.inf))
    return out


def _version() -> str:
    from feedbacksim import __version__

    return __version__


def _log_params(client: Any, run_id: str, params: dict[str, str]) -> None:
    from mlflow.entities import Param

    items = [Param(k, v) for k, v in params.items()]
    for start in range(0, len(items), 100):  # MLflow takes at most 100 params per batch
        client.log_batch(run_id, params=items[start : start + 100])


def _log_metrics(client: Any, run_id: str, metrics: dict[str, float], step: int = 0) -> None:
    import time

    from mlflow.entities import Metric

    stamp = int(time.time() * 1000)
    items = [Metric(k, v, stamp, step) for k, v in metrics.items()]
    for start in range(0, len(items), 1000):
        client.log_batch(run_id, metrics=items[start : start + 1000])


def _log_artifacts(client: Any, run_id: str, directory: Path, extra: tuple[str, ...] = ()) -> None:
    for name in (*ARTIFACTS, *extra):
        path = directory / name
        if path.is_file():
            client.log_artifact(run_id, str(path))
    figures = directory / "figures"
    if figures.is_dir():
        client.log_artifacts(run_id, str(figures), artifact_path="figures")


def _read(directory: Path, name: str) -> Any:
    return json.loads((directory / name).read_text(encoding="utf-8"))


def log_run(directory: str | Path, uri: str | None = None, experiment: str | None = None) -> str:
    """Log a ``feedbacksim run`` directory as one MLflow run; returns its run id."""
    require_mlflow()
    import mlflow

    directory = Path(directory)
    manifest, findings = _read(directory, "manifest.json"), _read(directory, "findings.json")
    scenario = manifest.get("scenario", {})
    tracking, artifacts = resolve_uri(uri)
    with _quiet_logs():
        client = mlflow.MlflowClient(tracking_uri=tracking)
        name = experiment or str(scenario.get("name", "feedbacksim"))
        run = client.create_run(
            _experiment(client, name, artifacts),
            run_name=directory.name,
            tags={
                "verdict": str(findings.get("verdict")),
                "feedbacksim.version": _version(),
                "feedbacksim.kind": "run",
                "feedbacksim.directory": str(directory.resolve()),
            },
        )
        run_id = run.info.run_id
        try:
            params = {f"scenario.{k}": v for k, v in flatten(scenario).items()}
            params.update(
                seed=str(manifest.get("seed")),
                replications=str(manifest.get("replications")),
                executor=str(manifest.get("executor", "serial")),
                overrides=json.dumps(manifest.get("overrides") or {})[:MAX_PARAM_LENGTH],
            )
            params.update(
                {
                    f"override.{k}": json.dumps(v)[:MAX_PARAM_LENGTH]
                    for k, v in (manifest.get("overrides") or {}).items()
                }
            )
            _log_params(client, run_id, params)
            _log_metrics(client, run_id, summary_metrics(findings.get("analyzers", [])))
            finals = _final_values(directory, scenario)
            detections = _detections(findings.get("findings", []))
            for replication in sorted(set(finals) | set(detections)):
                values = {**finals.get(replication, {}), **detections.get(replication, {})}
                _log_metrics(client, run_id, values, step=replication)
            _log_artifacts(client, run_id, directory)
        except BaseException:
            client.set_terminated(run_id, status="FAILED")
            raise
        client.set_terminated(run_id, status="FINISHED")
    return run_id


def log_sweep(directory: str | Path, uri: str | None = None, experiment: str | None = None) -> str:
    """Log a ``feedbacksim sweep`` directory: a parent run and one child per point."""
    require_mlflow()
    import mlflow
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    directory = Path(directory)
    manifest, sweep = _read(directory, "manifest.json"), _read(directory, "sweep.json")
    scenario = manifest.get("scenario", {})
    tracking, artifacts = resolve_uri(uri)
    version = _version()
    with _quiet_logs():
        client = mlflow.MlflowClient(tracking_uri=tracking)
        experiment_id = _experiment(
            client, experiment or f"{scenario.get('name', 'feedbacksim')} sweep", artifacts
        )
        parent = client.create_run(
            experiment_id,
            run_name=directory.name,
            tags={
                "feedbacksim.version": version,
                "feedbacksim.kind": "sweep",
                "feedbacksim.directory": str(directory.resolve()),
            },
        )
        parent_id = parent.info.run_id
        try:
            params = {f"scenario.{k}": v for k, v in flatten(scenario).items()}
            params.update(
                seed=str(sweep.get("seed")),
                replications_per_point=str(sweep.get("replications_per_point")),
                points=str(len(sweep.get("points", []))),
                plan=json.dumps(sweep.get("plan"), default=str)[:MAX_PARAM_LENGTH],
            )
            _log_params(client, parent_id, params)
            _log_artifacts(client, parent_id, directory, extra=("sweep.json", "phase_diagram.png"))
            for point in sweep.get("points", []):
                child = client.create_run(
                    experiment_id,
                    run_name=f"point {point['point']}",
                    tags={
                        MLFLOW_PARENT_RUN_ID: parent_id,
                        "verdict": str(point.get("verdict")),
                        "feedbacksim.version": version,
                        "feedbacksim.kind": "sweep point",
                    },
                )
                child_params = {
                    k: json.dumps(v)[:MAX_PARAM_LENGTH] for k, v in point["overrides"].items()
                }
                child_params.update(point=str(point["point"]), seed=str(sweep.get("seed")))
                _log_params(client, child.info.run_id, child_params)
                _log_metrics(client, child.info.run_id, summary_metrics(point["analyzers"]))
                client.set_terminated(child.info.run_id, status="FINISHED")
        except BaseException:
            client.set_terminated(parent_id, status="FAILED")
            raise
        client.set_terminated(parent_id, status="FINISHED")
    return parent_id
