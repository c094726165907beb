"""Generate the large benchmark cases with the real frameworks into a folder (never committed).

``python benchmarks/make_cases.py [FOLDER] [--only NAME ...]`` (default FOLDER:
``$TMPDIR/graphcheck-bench``). Cases too large to commit: deep Keras models, 1 GiB of weights
as ``.keras`` and ``.h5``, a 1.5 GB ONNX with embedded weights, a 4 GiB external-data ONNX, a
10,000-node ONNX chain and a folder of ~100 small mixed models (copies of the fixtures).
Existing files are kept; delete the folder to regenerate.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's graphcheck, whatever is installed
from graphcheck.loaders.protowire import encode_varint  # noqa: E402

DEFAULT_FOLDER = Path(tempfile.gettempdir()) / "graphcheck-bench"
EMBED_ROWS, EMBED_WIDTH = 262_144, 1024  # float32: exactly 1 GiB
ONNX_EMBED_BYTES = 1_500_000_000
EXTERNAL_BYTES = 4 * 1024**3


def _keras() -> Any:
    """Import keras quietly on the CPU (only this script and tests import it)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras  # type: ignore[import-untyped]

    return keras


def deep_keras(layers: int) -> Callable[[Path], None]:
    """Return a maker of a Sequential model of ``layers`` small Dense layers."""

    def make(target: Path) -> None:
        keras = _keras()
        sys.setrecursionlimit(200_000)  # after the import: TensorFlow's import lowers it again
        model = keras.Sequential([keras.Input((8,)), *[keras.layers.Dense(8) for _ in range(layers)]])
        model.save(target)

    return lambda target: _deep_stack(lambda: make(target))


def _deep_stack(work: Callable[[], None]) -> None:
    """Run ``work`` in a thread with a large stack: Keras walks a deep model recursively."""
    threading.stack_size(1024 * 1024 * 1024)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def embedding_model() -> Any:
    """Return an Embedding (1 GiB of float32) + LSTM model; zeros make building it fast."""
    keras = _keras()
    return keras.Sequential([
        keras.Input((20,), dtype="int32"),
        keras.layers.Embedding(EMBED_ROWS, EMBED_WIDTH, embeddings_initializer="zeros"),
        keras.layers.LSTM(32),
        keras.layers.Dense(2),
    ])


def embedding_keras(target: Path) -> None:
    """Save the 1 GiB model as ``.keras``: weights stored uncompressed in the zip, as Keras does."""
    embedding_model().save(target)


def embedding_h5(target: Path) -> None:
    """Save the same 1 GiB model as legacy ``.h5``."""
    embedding_model().save(target)


def onnx_chain(nodes: int, same_name: bool = False) -> Callable[[Path], None]:
    """Return a maker of an ONNX chain of ``nodes`` Relu/Add nodes with shapes to infer.

    ``same_name`` gives every node the name ``n`` (legal in ONNX): naming must stay linear.
    """

    def make(target: Path) -> None:
        import onnx
        from onnx import TensorProto, helper

        def name(index: int) -> str:
            return "n" if same_name else f"n{index}"

        bias = helper.make_tensor("bias", TensorProto.FLOAT, [1, 16], [0.0] * 16)
        made = []
        for index in range(nodes):
            source = "x" if index == 0 else f"t{index - 1}"
            if index % 2:
                made.append(helper.make_node("Add", [source, "bias"], [f"t{index}"], name=name(index)))
            else:
                made.append(helper.make_node("Relu", [source], [f"t{index}"], name=name(index)))
        graph = helper.make_graph(
            made, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])],
            [helper.make_tensor_value_info(f"t{nodes - 1}", TensorProto.FLOAT, ["batch", 16])], [bias])
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), target)

    return make


def onnx_ifs(count: int) -> Callable[[Path], None]:
    """Return a maker of an ONNX chain of ``count`` If nodes, each with two one-node branches."""

    def make(target: Path) -> None:
        import onnx
        from onnx import TensorProto, helper

        value = helper.make_tensor_value_info

        def branch(index: int, side: str) -> Any:
            out = f"o{index}{side}"
            return helper.make_graph([helper.make_node("Identity", [f"t{index}"], [out])],
                                     f"b{index}{side}", [], [value(out, TensorProto.FLOAT, [1])])

        made = [helper.make_node("If", ["c"], [f"t{i + 1}"], then_branch=branch(i, "a"),
                                 else_branch=branch(i, "b")) for i in range(count)]
        graph = helper.make_graph(made, "ifs", [value("c", TensorProto.BOOL, []),
                                                value("t0", TensorProto.FLOAT, [1])],
                                  [value(f"t{count}", TensorProto.FLOAT, [1])])
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), target)

    return make


def _lstm_graph(embedding: Any) -> Any:
    """Return an ONNX graph: Gather from an embedding initializer, then an LSTM of 32 units."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    hidden = 32
    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), name)
               for name, s in (("W", (1, 4 * hidden, EMBED_WIDTH)), ("R", (1, 4 * hidden, hidden)),
                               ("B", (1, 8 * hidden)))]
    nodes = [helper.make_node("Gather", ["embedding", "ids"], ["embedded"], name="gather"),
             helper.make_node("LSTM", ["embedded", "W", "R", "B"], ["Y", "Y_h"], name="lstm",
                              hidden_size=hidden)]
    return helper.make_graph(
        nodes, "embedded_lstm", [helper.make_tensor_value_info("ids", TensorProto.INT64, [20, 1])],
        [helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, 1, hidden])], [embedding, *weights])


def onnx_embedded(target: Path) -> None:
    """Write the 1.5 GB ONNX with an embedded embedding and check it with onnx's checker."""
    import onnx

    write_embedded_onnx(target, ONNX_EMBED_BYTES)
    onnx.checker.check_model(str(target))


def write_embedded_onnx(target: Path, size: int) -> None:
    """Write an ONNX whose ``size``-byte embedding is embedded as raw_data, as a sparse file.

    The model is serialised by onnx without the embedding's bytes; the embedding follows as a
    second ``graph`` field (protobuf merges repeated message fields, so ``onnx.load`` reads one
    graph), its raw_data a hole in the file: zeros on read, no disk written.
    """
    from onnx import TensorProto, helper

    rows = size // (4 * EMBED_WIDTH)
    stub = TensorProto(name="embedding", data_type=TensorProto.FLOAT, dims=[rows, EMBED_WIDTH])
    graph = _lstm_graph(stub)
    del graph.initializer[0]
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    head = stub.SerializeToString()
    raw = rows * EMBED_WIDTH * 4
    tensor_len = len(head) + 1 + len(encode_varint(raw)) + raw
    initializer = b"\x2a" + encode_varint(tensor_len) + head + b"\x4a" + encode_varint(raw)  # fields 5 and 9
    with target.open("wb") as out:
        out.write(model.SerializeToString())
        out.write(b"\x3a" + encode_varint(len(initializer) + raw) + initializer)  # ModelProto.graph
        out.truncate(out.tell() + raw)


def onnx_external(target: Path) -> None:
    """Write an ONNX whose 4 GiB embedding is external data; the data file is sparse."""
    import onnx
    from onnx import TensorProto, helper

    rows = EXTERNAL_BYTES // (4 * EMBED_WIDTH)
    embedding = TensorProto(name="embedding", data_type=TensorProto.FLOAT, dims=[rows, EMBED_WIDTH])
    embedding.data_location = TensorProto.EXTERNAL
    for key, value in (("location", target.stem + ".bin"), ("offset", "0"),
                       ("length", str(EXTERNAL_BYTES))):
        embedding.external_data.add(key=key, value=value)
    model = helper.make_model(_lstm_graph(embedding), opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, target)
    with (target.parent / (target.stem + ".bin")).open("wb") as data:
        data.truncate(EXTERNAL_BYTES)


def folder(target: Path) -> None:
    """Fill a folder with ~100 small mixed models: copies of the committed fixtures."""
    models = sorted(p for p in (ROOT / "fixtures").rglob("*")
                    if p.suffix in (".keras", ".h5", ".onnx") and "hostile" not in p.parts)
    target.mkdir()
    for copy in range(100):
        source = models[copy % len(models)]
        shutil.copyfile(source, target / f"{copy:03d}_{source.name}")


CASES: dict[str, Callable[[Path], None]] = {
    "deep_2000.keras": deep_keras(2000),
    "deep_10000.keras": deep_keras(10_000),
    "embedding_1gib.keras": embedding_keras,
    "embedding_1gib.h5": embedding_h5,
    "chain_10000.onnx": onnx_chain(10_000),
    "same_name_10000.onnx": onnx_chain(10_000, same_name=True),
    "same_name_40000.onnx": onnx_chain(40_000, same_name=True),
    "if_600.onnx": onnx_ifs(600),
    "if_2400.onnx": onnx_ifs(2400),
    "embedded_1500mb.onnx": onnx_embedded,
    "external_4gib.onnx": onnx_external,
    "folder": folder,
}


def main() -> None:
    """Make every missing case."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--only", nargs="*", choices=sorted(CASES), default=sorted(CASES))
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    for name in args.only:
        target = args.folder / name
        if not target.exists():
            print(f"making {target}", flush=True)
            CASES[name](target)


if __name__ == "__main__":
    main()
