"""Property tests for letterbox geometry, IoU and NMS."""

from __future__ import annotations

import numpy as np
from edgekit.tasks.boxes import Letterbox, box_iou, nms
from hypothesis import given, settings
from hypothesis import strategies as st

sizes = st.integers(min_value=8, max_value=2000)


def _boxes(draw, n, limit=500.0):
    xy = np.array(draw(st.lists(st.tuples(st.floats(0, limit), st.floats(0, limit)), min_size=n, max_size=n)))
    wh = np.array(draw(st.lists(st.tuples(st.floats(1, limit), st.floats(1, limit)), min_size=n, max_size=n)))
    return np.concatenate([xy, xy + wh], 1)


@given(sizes, sizes, st.integers(min_value=32, max_value=1280))
def test_letterbox_fits_and_is_centred(height, width, size):
    box = Letterbox.fit(height, width, size)
    assert box.new_width <= size and box.new_height <= size
    assert max(box.new_width, box.new_height) >= size - 1
    assert abs((size - box.new_width) - 2 * box.left) <= 1 and abs((size - box.new_height) - 2 * box.top) <= 1


@given(sizes, sizes, st.integers(min_value=32, max_value=1280), st.data())
def test_letterbox_round_trip(height, width, size, data):
    box = Letterbox.fit(height, width, size)
    x0 = data.draw(st.floats(0, width - 1))
    y0 = data.draw(st.floats(0, height - 1))
    original = np.array([[x0, y0, data.draw(st.floats(x0, width)), data.draw(st.floats(y0, height))]])
    back = box.boxes_to_original(box.boxes_to_letterbox(original), height, width)
    np.testing.assert_allclose(back, original, atol=1e-6 * max(height, width))


@settings(max_examples=50)
@given(st.data(), st.integers(min_value=1, max_value=12))
def test_iou_is_symmetric_and_bounded(data, n):
    a, b = _boxes(data.draw, n), _boxes(data.draw, n)
    iou = box_iou(a, b)
    np.testing.assert_allclose(iou, box_iou(b, a).T)
    assert ((iou >= 0) & (iou <= 1 + 1e-9)).all()
    np.testing.assert_allclose(np.diag(box_iou(a, a)), 1.0)


@settings(max_examples=50)
@given(st.data(), st.integers(min_value=1, max_value=30), st.floats(0.1, 0.9))
def test_nms_leaves_no_same_class_overlap_above_threshold(data, n, threshold):
    boxes = _boxes(data.draw, n, 100.0)
    scores = np.array(data.draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    classes = np.array(data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    keep = nms(boxes, scores, classes, threshold, 1000)
    assert len(set(keep.tolist())) == len(keep)
    assert (np.diff(scores[keep]) <= 0).all()
    iou = box_iou(boxes[keep], boxes[keep])
    same = classes[keep][:, None] == classes[keep][None, :]
    np.fill_diagonal(same, False)
    assert (iou[same] <= threshold + 1e-9).all()
    # every dropped box overlaps a kept box of its class above the threshold
    dropped = np.setdiff1d(np.arange(n), keep)
    for d in dropped:
        overlaps = box_iou(boxes[d : d + 1], boxes[keep])[0]
        assert ((overlaps > threshold - 1e-9) & (classes[keep] == classes[d])).any()  # float slack at the boundary


def test_multi_label_decoding_keeps_every_class_above_the_threshold():
    """``yolo val``'s convention: an anchor scoring 0.9 as class 0 and 0.6 as class 2 gives two detections
    (one per class: class-aware NMS never compares them); the default keeps only its best class."""
    from edgekit.tasks.detection import EVALUATION_PRESETS, DetectionDecoding, decode_detections

    output = np.zeros((4 + 3, 2), np.float32)
    output[:4, 0] = [50, 50, 20, 20]  # anchor 0: xywh
    output[4:, 0] = [0.9, 0.0005, 0.6]
    output[:4, 1] = [150, 150, 20, 20]
    output[4:, 1] = [0.0, 0.3, 0.0]
    _, scores, classes = decode_detections(output, EVALUATION_PRESETS["ultralytics"])
    assert sorted(zip(classes.tolist(), np.round(scores.astype(float), 2).tolist())) == [(0, 0.9), (1, 0.3), (2, 0.6)]
    _, scores, classes = decode_detections(output, DetectionDecoding())
    assert sorted(classes.tolist()) == [0, 1]
    assert DetectionDecoding.from_dict(EVALUATION_PRESETS["ultralytics"].to_dict()) == EVALUATION_PRESETS["ultralytics"]
