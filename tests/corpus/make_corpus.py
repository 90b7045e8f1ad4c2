"""Regenerate the malformed-input corpus (committed; run from the repository root with edgekit's venv).

    python tests/corpus/make_corpus.py

Every file here is something a user could hand to an edgekit command by mistake (or an attacker on purpose).
``tests/test_malformed_inputs.py`` runs each through every command that takes that kind of file and expects
one ``error:`` line, exit 2, nothing written, and no code from the file run.
"""

from __future__ import annotations

import io
import json
import pickle
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
MARKER = "edgekit-corpus-marker"  # the malicious pickles create this file (relative to the cwd) when loaded


class _WritesMarker:
    def __reduce__(self):  # unpickling calls open(MARKER, "w"): proof that code from the file ran
        return open, (MARKER, "w")


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels and whose data is one empty row."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")


def _torch_style_zip_with_pickle(payload: bytes) -> bytes:
    """A zip laid out like ``torch.save`` output whose ``data.pkl`` is ``payload``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", payload)
        archive.writestr("archive/version", "3\n")
    return buffer.getvalue()


def _alias_bomb(levels: int = 9, fan_out: int = 9) -> bytes:
    """A "billion laughs" data.yaml: each level lists the previous one ``fan_out`` times (9^9 strings, ~400 B)."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * fan_out) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * fan_out) + "]" for i in range(1, levels)]
    return ("\n".join(lines) + f"\nnames: *l{levels - 1}\nval: images/val\n").encode()


def _deep_block_yaml(depth: int = 400) -> bytes:
    """Block (indentation) nesting, which has no brackets for a bracket count to see."""
    return "".join(" " * i + f"k{i}:\n" for i in range(depth)).encode() + b" " * depth + b"v: 1\n"


def files() -> dict[str, bytes]:
    rng = np.random.default_rng(1234)
    random_bytes = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    evil = pickle.dumps(_WritesMarker(), protocol=2)
    valid_zip = _torch_style_zip_with_pickle(pickle.dumps({"w": 1}))
    return {
        "empty.bin": b"",
        "random.bin": random_bytes,
        "truncated.zip": valid_zip[: len(valid_zip) // 2],
        "malicious.pkl": evil,
        "malicious-zip.pt": _torch_style_zip_with_pickle(evil),
        "bomb.png": _png_header_only(20000, 20000),
        "not-utf8.txt": b"\xff\xfe\x00garbage\x80\x81",
        "list.json": b"[1, 2, 3]",
        "string.json": b'"just a string"',
        "null.json": b"null",
        "nan.json": b'{"schema": 1, "environment": {}, "results": [{"target": NaN}]}',
        "deep.json": b"[" * 100000 + b"]" * 100000,
        "truncated.json": b'{"schema": 1, "environment": {"cpu": "x"}, "resul',
        "wrong-types.json": json.dumps({"schema": "1", "target": 5, "files": "model.onnx", "inputs": {},
                                        "images": 3, "annotations": None, "categories": "x",
                                        "environment": [], "results": {"a": 1}}).encode(),
        "not-toml.toml": b"[[[ this is = not toml",
        "wrong-types.toml": b'max_size_growth = "five"\nreference = 3\n[targets]\nort-int8 = 1\n',
        "list.yaml": b"- a\n- b\n",
        "names-bad-keys.yaml": b"names: {a: circle, b: square}\nval: images/val\n",
        "not-yaml.yaml": b"names: [a, b\nval: {",
        "alias-bomb.yaml": _alias_bomb(),
        "deep-block.yaml": _deep_block_yaml(),
    }


def main() -> None:
    for name, content in files().items():
        (HERE / name).write_bytes(content)
    print(f"{len(files())} files written to {HERE}")


if __name__ == "__main__":
    main()
