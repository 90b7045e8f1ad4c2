"""The model card: what edgekit knows about a model beyond its weights — task, preprocessing, class names,
output decoding and the dataset it goes with.

One type wherever a model travels: a built-in model declares it, a model source carries it, the compress step
embeds it in the TorchScript file it writes (``torch.jit.save(..., _extra_files={CARD_FILE: ...})``), and every
artifact manifest holds it (flattened into the manifest's schema-1 keys). Device side: no torch.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from .data.preprocess import Preprocessing
from .schema import check_list, check_object, dataclass_schema, parse_json
from .tasks.registry import TASKS, check_task

#: the name of the card inside a TorchScript file's extra files
CARD_FILE = "edgekit/card.json"


def default_decoding(task: str) -> dict[str, Any] | None:
    """The output decoding a model of ``task`` gets unless it says otherwise (detectors only)."""
    if not TASKS[task].decoded:
        return None
    from .tasks.detection import DetectionDecoding

    return DetectionDecoding().to_dict()


@dataclass(frozen=True)
class ModelCard:
    """Task, preprocessing, class names (empty: take the dataset's), decoding and dataset of one model."""

    task: str
    preprocessing: Preprocessing
    class_names: list[str] = field(default_factory=list)
    dataset: str | None = None
    decoding: dict[str, Any] | None = None

    @classmethod
    def for_task(
        cls,
        task: str,
        preprocessing: Preprocessing,
        class_names: list[str] | tuple[str, ...] = (),
        dataset: str | None = None,
    ) -> ModelCard:
        """A card with the task's default decoding."""
        check_task(task)
        return cls(task, preprocessing, list(class_names), dataset, default_decoding(task))

    def with_changes(self, **changes: Any) -> ModelCard:
        """This card with some fields replaced (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (tuples as lists), as the manifest and the embedded card file hold it."""
        preprocessing = {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in self.preprocessing.to_dict().items()
        }
        return {
            "task": self.task,
            "preprocessing": preprocessing,
            "class_names": list(self.class_names),
            "dataset": self.dataset,
            "decoding": self.decoding,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "model card") -> ModelCard:
        """A checked card from its JSON form (other keys, such as a manifest's own, are ignored)."""
        check_object(data, where, CARD_REQUIRED, CARD_OPTIONAL, strict=False)
        check_list(data["class_names"], str, f"{where}.class_names")
        check_task(data["task"], f"{where}.task")
        return cls(
            data["task"],
            Preprocessing.from_dict(data["preprocessing"]),
            list(data["class_names"]),
            data.get("dataset"),
            data.get("decoding"),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str | bytes, where: str) -> ModelCard:
        return cls.from_dict(parse_json(text.encode() if isinstance(text, str) else text, where), where)


#: the manifest (and card JSON) keys a card fills, and their JSON types (from the fields: one schema)
CARD_KEYS = tuple(item.name for item in dataclasses.fields(ModelCard))
CARD_REQUIRED, CARD_OPTIONAL = dataclass_schema(ModelCard, required=("class_names",))
