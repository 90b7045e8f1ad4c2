"""The model card: one type from built-in model to compressed file to manifest; schema-1 manifests still read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from edgekit.card import CARD_FILE, ModelCard
from edgekit.data.preprocess import Preprocessing
from edgekit.errors import EdgekitError
from edgekit.manifest import Manifest
from edgekit.models.builtins import BUILTIN_MODELS

#: a manifest written by the last release (edgekit 0.1.0 at cb61cd7, ``export nano-cls -t ort-int8``)
SCHEMA_1 = Path(__file__).parent / "data" / "manifest_schema1_ort_int8.json"


def test_a_card_round_trips_and_detectors_get_their_decoding():
    for model in BUILTIN_MODELS.values():
        assert ModelCard.from_dict(model.card.to_dict()) == model.card
        assert ModelCard.from_json(model.card.to_json(), "card") == model.card
    det, cls = BUILTIN_MODELS["nano-det"].card, BUILTIN_MODELS["nano-cls"].card
    assert det.decoding and det.decoding["conf_threshold"] > 0 and cls.decoding is None


@pytest.mark.parametrize(
    "change, message",
    [
        ({"task": "segment"}, "unknown task 'segment'"),
        ({"class_names": [1, 2]}, "class_names[0]: expected a string"),
        ({"preprocessing": None}, "preprocessing: expected an object"),
    ],
)
def test_a_bad_card_is_one_error(change, message):
    card = ModelCard.for_task("classify", Preprocessing(size=32, resize="resize")).to_dict() | change
    with pytest.raises(EdgekitError, match=message.replace("[", r"\[")):
        ModelCard.from_dict(card)


def test_a_last_release_manifest_reads_and_writes_back_the_same_keys_and_values():
    written = json.loads(SCHEMA_1.read_text())
    manifest = Manifest.from_dict(written)
    assert manifest.card == ModelCard.from_dict(written)
    assert manifest.task == "classify" and manifest.dataset == "shapes-cls" and manifest.class_names[-1] == "ring"
    assert json.loads(json.dumps(manifest.to_dict())) == written


def test_the_card_is_embedded_in_a_torchscript_file_and_read_back(tmp_path):
    import torch
    from edgekit.convert.sources import load_source

    card = ModelCard.for_task("classify", Preprocessing(size=48, resize="resize"), ["a", "b"], "shapes-cls")
    module = torch.jit.trace(torch.nn.Conv2d(3, 2, 1).eval(), torch.zeros(1, 3, 48, 48))
    torch.jit.save(module, str(tmp_path / "m.pt"), _extra_files={CARD_FILE: card.to_json()})
    source = load_source(str(tmp_path / "m.pt"), trust=True)
    assert source.card == card
    assert load_source(str(tmp_path / "m.pt"), trust=True, imgsz=96).card.preprocessing.size == 96
    torch.jit.save(module, str(tmp_path / "bad.pt"), _extra_files={CARD_FILE: '{"task": 3}'})
    with pytest.raises(EdgekitError, match="unreadable model card"):
        load_source(str(tmp_path / "bad.pt"), trust=True)


def test_a_last_release_compress_sidecar_is_still_read_and_another_task_takes_its_decoding(tmp_path):
    import torch
    from edgekit.convert.sources import load_source

    module = torch.jit.trace(torch.nn.Conv2d(3, 2, 1).eval(), torch.zeros(1, 3, 32, 32))
    torch.jit.save(module, str(tmp_path / "old.pt"))  # edgekit 0.1 compress: no card inside, a sidecar beside
    (tmp_path / "old.pt.json").write_text(
        json.dumps(
            {
                "task": "detect",
                "class_names": ["a", "b"],
                "preprocessing": {"size": 32, "resize": "letterbox"},
                "dataset": "shapes-det",
            }
        )
    )
    card = load_source(str(tmp_path / "old.pt"), trust=True).card
    assert (card.task, card.class_names, card.dataset) == ("detect", ["a", "b"], "shapes-det")
    assert card.decoding == BUILTIN_MODELS["nano-det"].card.decoding  # the detector default, as 0.1 exported it
    as_classifier = load_source(str(tmp_path / "old.pt"), trust=True, task="classify").card
    assert as_classifier.task == "classify" and as_classifier.decoding is None
