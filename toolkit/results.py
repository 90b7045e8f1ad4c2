"""The bench results document (``edgekit bench --json``) as typed values: ``Latency``, ``BenchRow`` and
``ResultsDocument``, each with ``to_dict``/``from_dict`` (the JSON schema check lives in ``from_dict``).

A leaf module (json + the schema checks): bench writes these, and report, gate and pipeline read them through
this module only, never through the harness. Rows are frozen; drops and ratios come back as new rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import EdgekitError
from .schema import Number, check_list, check_object, check_value, dataclass_schema, read_json_file
from .tasks.registry import TASKS, check_task

RESULTS_SCHEMA = 1
#: task -> its metrics, headline first (from the task registry)
TASK_METRICS = {name: spec.metrics for name, spec in TASKS.items()}
#: the dataset fields that say which data was scored, whatever machine or cache directory scored it
IDENTITY_KEYS = ("name", "images", "annotations_sha256", "labels_sha256")

#: BenchRow fields written under another JSON key
_JSON_KEYS = {"latency": "latency_ms"}
#: what an "ok" row must hold beyond every row's target, artifact and status
_OK_KEYS = ("task", "size_bytes", "latency_ms", "metrics", "dataset")


def dataset_identity(summary: dict[str, Any]) -> dict[str, Any]:
    """What makes two rows' data the same data: name, image count and a content hash of the scored labels —
    never a path, so a baseline made on one machine gates a run on another."""
    return {key: summary[key] for key in IDENTITY_KEYS if key in summary}


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None and value != {} and value != ()}


@dataclass(frozen=True)
class Latency:
    """Milliseconds of timed runs: percentiles, moments and, when timed in interleaved rounds, each round's p50
    and the fastest of them (``p50_best_round``, what ``edgekit gate`` compares)."""

    p50: float
    p90: float | None = None  # always present in a row; a machine probe may record p50 alone
    p99: float | None = None
    mean: float | None = None
    std: float | None = None
    runs: int | None = None
    warmup: int | None = None
    round_p50: tuple[float, ...] = ()
    p50_best_round: float | None = None

    def gate_p50(self, best_round: bool) -> float:
        """The fastest round's p50 (``best_round``) or the plain p50."""
        return self.p50_best_round if best_round and self.p50_best_round is not None else self.p50

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        return _without_none(values | {"round_p50": list(self.round_p50)} if self.round_p50 else values)

    @classmethod
    def from_dict(
        cls,
        raw: Any,
        where: str = "latency_ms",
        required: tuple[str, ...] = ("p50", "p90", "p99"),
    ) -> Latency:
        """A checked ``Latency``: ``required`` keys present, known keys typed, latencies positive (other keys
        ignored)."""
        check_object(raw, where, {key: Number for key in required}, _LATENCY_KEYS, strict=False)
        if any(raw[key] <= 0 for key in ("p50", "p90", "p99", "p50_best_round") if key in raw):
            raise EdgekitError(f"{where}: latencies must be positive")
        rounds = tuple(check_list(raw.get("round_p50", []), Number, f"{where}.round_p50"))
        if any(not value > 0 for value in rounds):  # a 0.0 round divided by zero; a negative one hid a shift
            raise EdgekitError(f"{where}.round_p50: every round's p50 must be positive")
        known = {key: raw[key] for key in _LATENCY_KEYS if key in raw}
        return cls(**known | {"round_p50": rounds})


#: every latency key and its JSON type, from the fields of ``Latency``
_LATENCY_KEYS = {key: types for part in dataclass_schema(Latency, nullable=False) for key, types in part.items()}


@dataclass(frozen=True)
class BenchRow:
    """One artifact's measurement (``status`` "ok"), or why it could not be measured (any other status)."""

    target: str
    artifact: str
    status: str
    runtime: str | None = None
    runtime_version: str | None = None
    task: str | None = None
    size_bytes: int | None = None
    load_s: float | None = None
    first_inference_s: float | None = None
    latency: Latency | None = None
    threads: int | None = None
    peak_rss_bytes: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] | None = None
    model_sha256: str | None = None
    parent_sha256: str | None = None
    parent: str | None = None
    drop: dict[str, float] = field(default_factory=dict)
    ratio: dict[str, float] = field(default_factory=dict)
    #: ``bench --count``: the median instructions of one inference under valgrind, one thread (``count``: each
    #: inference's count, the spread, and the valgrind / runtime versions and CPU they may be compared under)
    instructions_per_inference: int | None = None
    count: dict[str, Any] | None = None
    #: ``export --max-drop``: the artifact's accuracy budget as its manifest recorded it (the drop of each attempt
    #: on the held-out decide images, the layers kept float), so the decision travels with what it measured
    accuracy_budget: dict[str, Any] | None = None
    #: the sweep grid point a row measures (``edgekit sweep``): its options and ratios to the sweep's reference
    cell: dict[str, Any] = field(default_factory=dict)
    #: keys a newer edgekit wrote that this one does not know: kept, so a read-and-write loses nothing
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def primary_metric(self) -> str:
        """The headline metric of the row's task (mAP50-95 for detectors, top-1 for classifiers)."""
        return TASK_METRICS.get(self.task or "", ("",))[0]

    @classmethod
    def failed(cls, path: Path | str, reason: str, target: str | None = None) -> BenchRow:
        """A row for an artifact that could not be benched (``target``: its name, where known)."""
        return cls(target=target or Path(path).name, artifact=str(path), status=f"bench failed: {reason}")

    def to_dict(self) -> dict[str, Any]:
        values = {
            _JSON_KEYS.get(f.name, f.name): getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"
        }
        if self.latency is not None:
            values["latency_ms"] = self.latency.to_dict()
        return _without_none(values) | self.extra

    @classmethod
    def from_dict(cls, raw: Any, where: str = "row") -> BenchRow:
        """A checked row: an "ok" row needs its task, size, latency, metrics (the task's headline one at least)
        and dataset, all well typed."""
        check_object(raw, where, _ROW, strict=False)
        if raw["status"] != "ok":
            cell = raw.get("cell", {})
            check_value(cell, dict, f"{where}.cell")
            return cls(
                **{key: raw[key] for key in _ROW},
                cell=cell,
                extra={k: v for k, v in raw.items() if k not in _ROW and k != "cell"},
            )
        check_object(raw, where, _OK_ROW, _OK_OPTIONAL, strict=False)
        check_task(raw["task"], f"{where}.task")
        if raw["size_bytes"] <= 0:
            raise EdgekitError(f"{where}.size_bytes must be positive")
        check_object(raw["metrics"], f"{where}.metrics", {TASK_METRICS[raw["task"]][0]: Number}, strict=False)
        for key in ("metrics", "drop", "ratio"):
            for name, value in raw.get(key, {}).items():
                check_value(value, Number, f"{where}.{key}.{name}")
        check_object(
            raw["dataset"],
            f"{where}.dataset",
            {"name": str, "images": int},
            {"annotations": str, "annotations_sha256": str, "labels_sha256": str},
            strict=False,
        )
        known = {**_ROW, **_OK_ROW, **_OK_OPTIONAL}
        values = {key: raw[key] for key in known if key in raw and key != "latency_ms"}
        extra = {key: value for key, value in raw.items() if key not in known}
        return cls(**values, latency=Latency.from_dict(raw["latency_ms"], f"{where}.latency_ms"), extra=extra)


#: a row's JSON keys and types, from the fields of ``BenchRow`` (one schema); an ok row's own keys are never null
_ROW, _ANY_OPTIONAL = dataclass_schema(BenchRow, renamed=_JSON_KEYS, exclude=("extra",), nullable=False)
_OK_ROW = {key: _ANY_OPTIONAL[key] for key in _OK_KEYS}
_OK_OPTIONAL = {key: types for key, types in _ANY_OPTIONAL.items() if key not in _OK_KEYS}


def row_labels(rows: Sequence[BenchRow]) -> list[str]:
    """Each row's target name, or ``folder/target`` when one target appears in several folders."""
    targets = [row.target for row in rows]
    labels = []
    for row in rows:
        path = Path(row.artifact)
        duplicated = targets.count(row.target) > 1 and path.parent.name
        labels.append(f"{path.parent.name}/{path.name}" if duplicated else row.target)
    return labels


def with_drops(rows: Sequence[BenchRow]) -> list[BenchRow]:
    """The rows, each whose FP32 parent was benched in the same run (on the same data) given ``parent``,
    ``drop`` (parent minus this, per metric) and ``ratio`` (this over parent: ``p50`` and ``size``)."""
    parents = {row.model_sha256: row for row in rows if row.ok}
    out = []
    for row in rows:
        parent = parents.get(row.parent_sha256)
        is_parent_itself = row.model_sha256 == row.parent_sha256  # also when listed twice
        if (
            not row.ok
            or parent is None
            or is_parent_itself
            or row.latency is None
            or parent.latency is None
            or not row.size_bytes
            or not parent.size_bytes
            or dataset_identity(parent.dataset) != dataset_identity(row.dataset)
        ):
            out.append(row)
            continue
        out.append(
            dataclasses.replace(
                row,
                parent=parent.target,
                drop={k: parent.metrics[k] - v for k, v in row.metrics.items()},
                ratio={"p50": row.latency.p50 / parent.latency.p50, "size": row.size_bytes / parent.size_bytes},
            )
        )
    return out


@dataclass(frozen=True)
class ResultsDocument:
    """A bench run: where it ran (``environment``, with the machine probe's latency) and one row per artifact."""

    environment: dict[str, Any]
    rows: tuple[BenchRow, ...]

    @property
    def machine_probe(self) -> Latency | None:
        """The fixed matmul timed in the same rounds (see ``edgekit.bench.harness.MachineProbe``), where recorded."""
        probe = self.environment.get("machine_probe_ms")
        return None if probe is None else Latency.from_dict(probe, "environment.machine_probe_ms", ("p50",))

    def labels(self) -> list[str]:
        return row_labels(self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": RESULTS_SCHEMA,
            "environment": self.environment,
            "results": [row.to_dict() for row in self.rows],
        }

    @classmethod
    def from_dict(cls, document: Any, where: str = "results") -> ResultsDocument:
        """A checked document of this schema; anything else is one ``EdgekitError`` naming ``where``."""
        if not isinstance(document, dict) or "results" not in document or "environment" not in document:
            raise EdgekitError(f"{where} is not an edgekit bench results document")
        if document.get("schema") != RESULTS_SCHEMA:
            raise EdgekitError(
                f"{where} has results schema {document.get('schema')!r}; this edgekit reads schema {RESULTS_SCHEMA!r}"
            )
        check_object(document, where, {"environment": dict, "results": list}, strict=False)
        rows = tuple(
            BenchRow.from_dict(row, f"{where}: results[{index}]") for index, row in enumerate(document["results"])
        )
        result = cls(environment=document["environment"], rows=rows)
        if "machine_probe_ms" in result.environment:
            Latency.from_dict(result.environment["machine_probe_ms"], f"{where} environment.machine_probe_ms", ("p50",))
        return result


def as_document(results: ResultsDocument | dict[str, Any], where: str = "results") -> ResultsDocument:
    """``results`` as a ``ResultsDocument``: one already, or its JSON form (checked)."""
    return results if isinstance(results, ResultsDocument) else ResultsDocument.from_dict(results, where)


def load_results(path: Path) -> ResultsDocument:
    """Read and check a ``edgekit bench --json`` document; a wrong schema or shape is an error, not a guess."""
    path = Path(path)
    return ResultsDocument.from_dict(read_json_file(path, "results JSON"), str(path))
