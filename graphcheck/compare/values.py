"""Weight values, read one tensor at a time: HDF5 datasets of Keras files, ONNX initializers.

The rest of graphcheck reads weight *shapes* only; ``diff`` compares values, so it reads them
here, bounded: a Keras weight is one HDF5 dataset read on request (the file stays open, nothing
else is loaded), an ONNX file is parsed once without external data (refused over
``max_onnx_bytes``) and each initializer becomes a numpy array only when asked for. At most
two tensors (the pair being compared) are held as arrays at any time, plus the ONNX protobuf.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from graphcheck.findings import LoadError
from graphcheck.graph import Layer, Model
from graphcheck.limits import current as current_limits
from graphcheck.loaders.h5_weights import H5_ERRORS, GroupWeights
from graphcheck.loaders.keras_weight_paths import WEIGHTS
from graphcheck.loaders.zip_member import open_member


class KerasValues:
    """Reads the stored values of a Keras model's weights, one dataset per call."""

    def __init__(self, model: Model, h5: Any) -> None:
        """Wrap a loaded model and its open weights file (``model_weights`` or ``layers`` root)."""
        self.model, self.h5 = model, h5
        self.groups = _group_paths(model) if model.format != "h5" else {}

    def read(self, layer: Layer, index: int) -> Any:
        """Return the ``index``-th stored weight of a top-level layer as a float64 array."""
        import numpy as np

        assert layer.weights is not None
        stored = layer.weights[index]
        if self.model.format == "h5":
            path = f"model_weights/{layer.name}/{stored.key}"
        else:
            path = f"{self.groups[layer.name]}/{stored.key}"
        try:
            dataset = self.h5.get(path)
            if dataset is None or tuple(dataset.shape) != stored.shape:
                raise LoadError(f"weight {stored.key} of layer {layer.name} is not at {path}")
            _check_size(int(dataset.size) * dataset.dtype.itemsize, f"{layer.name}/{stored.key}")
            return np.asarray(dataset[()], dtype=np.float64)
        except (*H5_ERRORS, TypeError) as error:  # a corrupt dataset, or one of strings
            raise LoadError(f"weight {stored.key} of layer {layer.name} cannot be read: {error}") from None


def _group_paths(model: Model) -> dict[str, str]:
    """Return each top-level layer's group in ``model.weights.h5``, keyed as the loader keyed them."""
    keys = GroupWeights(None)
    return {layer.name: f"layers/{keys.next_key(layer.type)}" for layer in model.root.layers()}


def _check_size(size: int, what: str) -> None:
    """Refuse to read one tensor larger than the ONNX byte limit (the bound on one value read)."""
    limit = current_limits().max_onnx_bytes
    if size > limit:
        raise LoadError(f"{what} holds {size} bytes, over the {limit}-byte limit (max_onnx_bytes)")


@contextmanager
def keras_values(model: Model) -> Iterator[KerasValues]:
    """Open a loaded Keras model's weights for reading values (legacy .h5, .keras zip or folder)."""
    import h5py

    path = Path(model.path)
    if model.format not in ("h5", "keras") or not model.has_weights:
        raise LoadError(f"{path.name} holds no weights graphcheck can compare (a {model.format} "
                        "file): give the saved .keras or .h5 model")
    with ExitStack() as stack:
        if model.format == "h5" or path.is_dir():
            source: Any = str(path if model.format == "h5" else path / WEIGHTS)
        else:
            archive = stack.enter_context(zipfile.ZipFile(path))
            source = stack.enter_context(open_member(path, archive, WEIGHTS,
                                                     current_limits().max_member_bytes))
        try:
            h5 = stack.enter_context(h5py.File(source, "r"))
        except (OSError, ValueError) as error:
            raise LoadError(f"cannot read the weights of {path.name}: {error}") from None
        yield KerasValues(model, h5)


class OnnxValues:
    """An ONNX model's protobuf without external data, and its stored tensors by name."""

    def __init__(self, path: Path) -> None:
        """Parse the file once (it must be under ``max_onnx_bytes``) and index its tensors."""
        import onnx

        limit = current_limits().max_onnx_bytes
        size = path.stat().st_size
        if size > limit:
            raise LoadError(f"{path.name} is {size} bytes, over the {limit}-byte limit "
                            "(max_onnx_bytes) for reading weight values")
        try:
            self.proto = onnx.load(str(path), load_external_data=False)
        except Exception as error:  # protobuf raises DecodeError and friends
            raise LoadError(f"{path.name} is not a readable ONNX model: {error}") from None
        self.tensors: dict[str, Any] = {t.name: t for t in self.proto.graph.initializer}
        for node in self.proto.graph.node:
            if node.op_type == "Constant" and node.output:
                value = next((a.t for a in node.attribute if a.name == "value"), None)
                if value is not None:
                    self.tensors[node.output[0]] = value

    def has(self, name: str) -> bool:
        """Return True when ``name`` is a stored tensor (initializer or Constant)."""
        return name in self.tensors

    def external(self, name: str) -> bool:
        """Return True when the tensor's values live in an external file (not read)."""
        tensor = self.tensors[name]
        return bool(tensor.data_location == 1 or tensor.external_data)

    def read(self, name: str) -> Any:
        """Return one stored tensor as a float64 array."""
        import numpy as np
        from onnx import numpy_helper

        tensor = self.tensors[name]
        size = int(np.prod(tensor.dims, dtype=np.int64)) * 8 if tensor.dims else 8
        _check_size(size, name)
        try:
            return np.asarray(numpy_helper.to_array(tensor), dtype=np.float64)
        except (ValueError, TypeError, KeyError) as error:  # raw bytes that do not fill the dims
            raise LoadError(f"tensor {name} cannot be read: {error}") from None
