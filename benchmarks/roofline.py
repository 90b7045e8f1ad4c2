"""What this CPU's convolutions can do: achieved FP32 and INT8 conv throughput (GOP/s) on each runtime.

    python benchmarks/roofline.py [--peers benchmarks/peers/ultralytics.json]
    python benchmarks/roofline.py --peers benchmarks/compress/yolov8n-shapes-{relu,pad}-int8.json \
        --out compress/roofline-rewrites

A stack of six 3x3 convolutions (64 -> 64 channels, 56x56, 0.69 GMAC: the shape of a small detector's
backbone) is built once as ONNX and run as FP32 and as INT8 on ONNX Runtime (QDQ, per-channel weights),
OpenVINO (FP32; NNCF INT8) and TFLite (the same stack from Keras; full-integer INT8), all with 2 threads and
timed in interleaved rounds. Each artifact of the peer run is then placed against the ceiling of its own
runtime and precision: its MACs (counted from the ONNX graph) x 2 / its p50, as a fraction of that ceiling.
Writes ``benchmarks/roofline.{json,md}`` (``--out`` names another stem, ``--out-dir`` another folder). Any bench
results JSON of the same model's MACs can be placed (``--peers``, one or more): e.g. the before/after rows of a
rewrite.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import onnx
from edgekit.bench.harness import BenchOptions, MachineProbe, time_interleaved
from edgekit.fsutil import write_text_atomic
from edgekit.manifest import host_environment
from onnx import TensorProto, helper

HERE = Path(__file__).resolve().parent
LAYERS, CHANNELS, SIZE = 6, 64, 56
MACS = LAYERS * SIZE * SIZE * CHANNELS * CHANNELS * 9


def conv_stack(path: Path) -> None:
    rng = np.random.default_rng(0)
    nodes, inits, name = [], [], "x"
    for i in range(LAYERS):
        w = rng.standard_normal((CHANNELS, CHANNELS, 3, 3)).astype(np.float32) * 0.05
        inits += [
            helper.make_tensor(f"w{i}", TensorProto.FLOAT, w.shape, w.flatten()),
            helper.make_tensor(f"b{i}", TensorProto.FLOAT, [CHANNELS], np.zeros(CHANNELS, np.float32)),
        ]
        nodes.append(helper.make_node("Conv", [name, f"w{i}", f"b{i}"], [f"y{i}"], pads=[1, 1, 1, 1]))
        name = f"y{i}"
    shape = [1, CHANNELS, SIZE, SIZE]
    graph = helper.make_graph(
        nodes,
        "convs",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)],
        inits,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))


def samples(count: int = 16) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.standard_normal((1, CHANNELS, SIZE, SIZE)).astype(np.float32) for _ in range(count)]


class _Ort:
    threads = 2

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = 2, 1
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(self, batch: np.ndarray) -> list:
        return self._session.run(None, {"x": batch})


class _OpenVino:
    threads = 2

    def __init__(self, model) -> None:
        import openvino as ov

        compiled = ov.Core().compile_model(
            model, "CPU", {"INFERENCE_NUM_THREADS": 2, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
        )
        self._request = compiled.create_infer_request()

    def run(self, batch: np.ndarray) -> list:
        self._request.infer({0: batch})
        return []


class _Tflite:
    threads = 2

    def __init__(self, content: bytes) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_content=content, num_threads=2)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]

    def run(self, batch: np.ndarray) -> list:
        value = np.ascontiguousarray(batch.transpose(0, 2, 3, 1))
        if self._input["dtype"] == np.int8:
            scale, zero = self._input["quantization"]
            value = np.clip(np.round(value / scale) + zero, -128, 127).astype(np.int8)
        self._interpreter.set_tensor(self._input["index"], value)
        self._interpreter.invoke()
        return []


def ort_sessions(work: Path) -> dict[str, _Ort]:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(samples())

        def get_next(self) -> dict | None:
            sample = next(self._it, None)
            return None if sample is None else {"x": sample}

    quantize_static(
        str(work / "fp32.onnx"),
        str(work / "int8.onnx"),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        reduce_range=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )
    return {"onnxruntime fp32": _Ort(work / "fp32.onnx"), "onnxruntime int8": _Ort(work / "int8.onnx")}


def openvino_sessions(work: Path) -> dict[str, _OpenVino]:
    import nncf
    import openvino as ov

    model = ov.Core().read_model(str(work / "fp32.onnx"))
    quantized = nncf.quantize(model, nncf.Dataset(samples()), subset_size=16)
    return {"openvino fp32": _OpenVino(model), "openvino int8": _OpenVino(quantized)}


def tflite_sessions() -> dict[str, _Tflite]:
    import tensorflow as tf

    layers = [tf.keras.layers.Conv2D(CHANNELS, 3, padding="same") for _ in range(LAYERS)]
    model = tf.keras.Sequential([tf.keras.Input((SIZE, SIZE, CHANNELS)), *layers])
    fp32 = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([s.transpose(0, 2, 3, 1)] for s in samples())
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    return {"tflite fp32": _Tflite(fp32), "tflite int8": _Tflite(converter.convert())}


def onnx_macs(path: Path) -> int:
    """Multiply-accumulates of the Conv/Gemm/MatMul nodes of an ONNX model (shapes by ONNX inference)."""
    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in list(model.graph.value_info) + list(model.graph.output) + list(model.graph.input)
    }
    weights = {init.name: list(init.dims) for init in model.graph.initializer}
    total = 0
    for node in model.graph.node:
        out = shapes.get(node.output[0], [])
        if node.op_type == "Conv" and node.input[1] in weights and out:
            kernel = weights[node.input[1]]
            total += int(np.prod(out)) * int(np.prod(kernel[1:]))
        elif node.op_type in ("Gemm", "MatMul") and node.input[1] in weights and out:
            total += int(np.prod(out)) * weights[node.input[1]][0]
    return total


def place_peers(peers: Path, ceilings: dict[str, float], macs: int) -> list[dict]:
    document = json.loads(peers.read_text())
    placed = []
    for row in document["results"]:
        if row["status"] != "ok":
            continue
        precision = "fp32" if row["size_bytes"] > 8e6 else "int8"
        ceiling = ceilings[f"{row['runtime']} {precision}"]
        achieved = 2 * macs / (row["latency_ms"]["p50"] / 1000) / 1e9
        placed.append(
            {
                "artifact": f"{peers.stem}: " + "/".join(Path(row["artifact"]).parts[-2:]),
                "runtime": row["runtime"],
                "precision": precision,
                "p50_ms": row["latency_ms"]["p50"],
                "gops": achieved,
                "ceiling_gops": ceiling,
                "fraction_of_ceiling": achieved / ceiling,
            }
        )
    return placed


def _shown(path: Path) -> str:
    """``path`` relative to the repository when it lies inside it."""
    path = path.resolve()
    return str(path.relative_to(HERE.parent)) if path.is_relative_to(HERE.parent) else str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=Path, nargs="+", default=[HERE / "peers" / "ultralytics.json"])
    parser.add_argument("--model", type=Path, default=HERE / "models" / "yolov8n-shapes.onnx")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default="roofline", help="output stem under --out-dir")
    parser.add_argument("--out-dir", type=Path, default=HERE, help="where the JSON and Markdown go (benchmarks/)")
    parser.add_argument("--smoke", action="store_true", help="one round of a few runs (the CI smoke test)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        conv_stack(work / "fp32.onnx")
        sessions = ort_sessions(work) | openvino_sessions(work) | tflite_sessions()
        batch = samples(1)[0]
        options = (
            BenchOptions(runs=3, min_seconds=0.0, rounds=1)
            if args.smoke
            else BenchOptions(runs=60, min_seconds=3.0, rounds=args.rounds)
        )
        timings = time_interleaved([(s, batch) for s in sessions.values()] + [(MachineProbe(), None)], options)
    ceilings = {name: 2 * MACS / (t.p50 / 1000) / 1e9 for name, t in zip(sessions, timings)}
    macs = onnx_macs(args.model)
    document = {
        "environment": host_environment(),
        "conv_stack": {"layers": LAYERS, "channels": CHANNELS, "size": SIZE, "macs": MACS},
        "statistic": "plain p50 of all timed runs, interleaved rounds",
        "ceilings_gops": ceilings,
        "p50_ms": {n: t.p50 for n, t in zip(sessions, timings)},
        "model": _shown(args.model),
        "model_macs": macs,
        "placed_from": [_shown(p) for p in args.peers if p.is_file()],
        "placed": [row for p in args.peers if p.is_file() for row in place_peers(p, ceilings, macs)],
    }
    write_text_atomic(args.out_dir / f"{args.out}.json", json.dumps(document, indent=2) + "\n")
    lines = [
        f"Conv ceilings on {document['environment']['cpu']} ({', '.join(document['environment'].get('isa', []))}),"
        f" 2 threads: six 3x3 convs 64->64 at 56x56 ({MACS / 1e9:.2f} GMAC), plain p50",
        "",
        "| runtime / precision | p50 ms | GOP/s |",
        "|---|---:|---:|",
    ]
    lines += [f"| {n} | {document['p50_ms'][n]:.2f} | {g:.0f} |" for n, g in ceilings.items()]
    lines += [
        "",
        f"{document['model']} ({macs / 1e6:.1f} M MACs) in {', '.join(document['placed_from'])}, "
        "against its runtime's ceiling:",
        "",
        "| artifact | precision | p50 ms | GOP/s | ceiling | fraction |",
        "|---|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {p['artifact']} | {p['precision']} | {p['p50_ms']:.2f} | {p['gops']:.0f} | {p['ceiling_gops']:.0f} | "
        f"{p['fraction_of_ceiling']:.0%} |"
        for p in document["placed"]
    ]
    write_text_atomic(args.out_dir / f"{args.out}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
