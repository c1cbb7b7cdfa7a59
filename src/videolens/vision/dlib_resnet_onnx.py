"""Reads dlib's face-recognition ResNet weights (.dat) and rebuilds the same network as an ONNX graph.

dlib's `dlib-bin` wheel runs the network without BLAS (~75 ms a face on one core). onnxruntime runs the
identical network, with the identical weights read from the same file, several times faster and on
all cores, and it batches. Nothing is downloaded or stored: the graph is built in memory when the
embedder starts, from the `.dat` that `face_recognition_models` ships.

The file is dlib's own serialization of `anet_type` from dlib's `dnn_face_recognition_ex.cpp`:
integers as a length byte (low 4 bits; bit 7 = negative) followed by little-endian bytes, strings as an
integer length and the bytes, tensors (format version 2) as four integer dimensions followed by raw
float32 values. Layers appear bottom-up, each introduced by its type name ("con_4", "affine_",
"relu_", "max_pool_2", "avg_pool_2", "add_prev_", "fc_2").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INPUT_NAME = "chips"
OUTPUT_NAME = "descriptors"
_LAYER_NAME = re.compile(
    rb"\x01([\x04-\x15])(con_4|affine_|relu_|max_pool_2|avg_pool_2|add_prev_|fc_2|input_rgb_image_sized)"
)


class DlibModelFormatError(ValueError):
    """The .dat file is not the dlib face-recognition ResNet this converter understands."""


class _Reader:
    """Sequential reader of dlib's portable serialization format."""

    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def integer(self) -> int:
        head = self.data[self.pos]
        size = head & 0x0F
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if head & 0x80 else value

    def string(self) -> str:
        size = self.integer()
        text = self.data[self.pos : self.pos + size].decode("ascii")
        self.pos += size
        return text

    def real(self) -> float:
        mantissa = self.integer()
        exponent = self.integer()
        return float(mantissa) * 2.0**exponent

    def tensor(self) -> np.ndarray:
        version = self.integer()
        if version != 2:
            raise DlibModelFormatError(f"unsupported tensor format version {version}")
        shape = [self.integer() for _ in range(4)]
        count = int(np.prod(shape))
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos).reshape(shape)
        self.pos += 4 * count
        return values.astype(np.float32)


@dataclass
class _Layer:
    kind: str
    params: np.ndarray | None = None
    ints: list[int] = field(default_factory=list)  # filters/outputs, window, stride, padding …


def _read_layers(data: bytes) -> tuple[np.ndarray, list[_Layer]]:
    """The input mean (RGB) and the layers in bottom-up order."""
    mean: np.ndarray | None = None
    layers: list[_Layer] = []
    for match in _LAYER_NAME.finditer(data):
        if match.group(1)[0] != len(match.group(2)):
            continue
        reader = _Reader(data, match.start())
        kind = reader.string()
        if kind == "input_rgb_image_sized":
            mean = np.array([reader.real() for _ in range(3)], dtype=np.float32)
            size = (reader.integer(), reader.integer())
            if size != (150, 150):
                raise DlibModelFormatError(f"unexpected input size {size}")
        elif kind == "con_4":
            params = reader.tensor()
            # num_filters, nr, nc, stride_y, stride_x, padding_y, padding_x
            layers.append(_Layer("con", params.reshape(-1), [reader.integer() for _ in range(7)]))
        elif kind == "affine_":
            layers.append(_Layer("affine", reader.tensor().reshape(-1)))
        elif kind in ("max_pool_2", "avg_pool_2"):
            # nr, nc, stride_y, stride_x, padding_y, padding_x (nr = nc = 0: pool everything)
            layers.append(_Layer(kind[:-2], None, [reader.integer() for _ in range(6)]))
        elif kind == "fc_2":
            outputs, inputs = reader.integer(), reader.integer()
            params = reader.tensor().reshape(-1)
            if params.size != outputs * inputs:
                raise DlibModelFormatError("fc layer with a bias is not expected here")
            layers.append(_Layer("fc", params.reshape(inputs, outputs), [outputs, inputs]))
        else:
            layers.append(_Layer(kind.rstrip("_")))
    if mean is None or not layers:
        raise DlibModelFormatError("not a dlib face-recognition network")
    return mean, layers


class _GraphBuilder:
    """Accumulates ONNX nodes while tracking each value's static (C, H, W) shape for a 150x150 input."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.counter = 0

    def name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def const(self, array: np.ndarray, prefix: str) -> str:
        name = self.name(prefix)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], prefix: str, **attrs: Any) -> str:
        out = self.name(prefix)
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out


def _pool_out(size: int, window: int, stride: int, pad: int) -> int:
    return 1 + (size + 2 * pad - window) // stride


def build_onnx_model(dat_path: str | Path) -> onnx.ModelProto:
    """The dlib ResNet as an ONNX model: input float32 (N, 3, 150, 150) RGB 0..255, output (N, 128)."""
    mean, layers = _read_layers(Path(dat_path).read_bytes())
    g = _GraphBuilder()
    # dlib's input layer: (pixel - mean) / 256 per channel.
    x = g.node("Sub", [INPUT_NAME, g.const(mean.reshape(1, 3, 1, 1), "mean")], "centred")
    x = g.node("Mul", [x, g.const(np.array(1.0 / 256.0, dtype=np.float32), "scale")], "input")
    shape = (3, 150, 150)
    block_input: tuple[str, tuple[int, int, int]] | None = None
    skip: tuple[str, tuple[int, int, int]] | None = None
    i = 0
    while i < len(layers):
        layer = layers[i]
        if layer.kind == "con":
            filters, nr, nc, sy, sx, py, px = layer.ints
            if nr == 3 and block_input is None and shape[0] != 3:
                block_input = (x, shape)  # a residual block starts here (tag1 in dlib's net)
            weights = layer.params[: filters * shape[0] * nr * nc].reshape(filters, shape[0], nr, nc)  # type: ignore[index]
            bias = layer.params[filters * shape[0] * nr * nc :]  # type: ignore[index]
            # An affine (frozen batch-norm) layer always follows: fold its scale and shift into the conv.
            if i + 1 < len(layers) and layers[i + 1].kind == "affine":
                affine = layers[i + 1].params
                gamma, beta = affine[:filters], affine[filters:]  # type: ignore[index]
                weights = weights * gamma[:, None, None, None]
                bias = bias * gamma + beta
                i += 1
            x = g.node(
                "Conv",
                [x, g.const(weights.astype(np.float32), "w"), g.const(bias.astype(np.float32), "b")],
                "conv",
                kernel_shape=[nr, nc],
                strides=[sy, sx],
                pads=[py, px, py, px],
            )
            shape = (filters, _pool_out(shape[1], nr, sy, py), _pool_out(shape[2], nc, sx, px))
        elif layer.kind == "relu":
            x = g.node("Relu", [x], "relu")
        elif layer.kind == "max_pool":
            nr, nc, sy, sx, py, px = layer.ints
            x = g.node(
                "MaxPool", [x], "maxpool", kernel_shape=[nr, nc], strides=[sy, sx], pads=[py, px, py, px]
            )
            shape = (shape[0], _pool_out(shape[1], nr, sy, py), _pool_out(shape[2], nc, sx, px))
        elif layer.kind == "avg_pool":
            nr, nc, sy, sx, py, px = layer.ints
            if nr == 0 and nc == 0:
                x = g.node("GlobalAveragePool", [x], "gap")
                shape = (shape[0], 1, 1)
            else:
                # Down-sampling block: dlib pools the block's input (skip1) to add it to the output.
                if block_input is None or py or px:
                    raise DlibModelFormatError("unexpected avg_pool position")
                src, src_shape = block_input
                pooled = g.node("AveragePool", [src], "avgpool", kernel_shape=[nr, nc], strides=[sy, sx])
                skip = (
                    pooled,
                    (src_shape[0], _pool_out(src_shape[1], nr, sy, 0), _pool_out(src_shape[2], nc, sx, 0)),
                )
        elif layer.kind == "add_prev":
            other = skip if skip is not None else block_input
            if other is None:
                raise DlibModelFormatError("add_prev without a block input")
            x, shape = _padded_add(g, (x, shape), other)
            block_input, skip = None, None
        elif layer.kind == "fc":
            x = g.node("Flatten", [x], "flat", axis=1)
            x = g.node("MatMul", [x, g.const(layer.params, "fc")], "fc")  # type: ignore[arg-type]
        else:
            raise DlibModelFormatError(f"unexpected layer {layer.kind}")
        i += 1
    g.nodes[-1].output[0] = OUTPUT_NAME
    graph = helper.make_graph(
        g.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", 3, 150, 150])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", 128])],
        g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _padded_add(
    g: _GraphBuilder, a: tuple[str, tuple[int, int, int]], b: tuple[str, tuple[int, int, int]]
) -> tuple[str, tuple[int, int, int]]:
    """dlib's add_prev: the output takes the larger size of each dimension, the smaller operand is
    zero-filled at the end (more channels after a down-sampling block; 4x4 vs 3x3 at the 8x8 level)."""
    target = tuple(max(p, q) for p, q in zip(a[1], b[1], strict=True))
    names = []
    for name, shape in (a, b):
        if shape != target:
            pads = [0, 0, 0, 0, 0, *(t - s for t, s in zip(target, shape, strict=True))]
            name = g.node("Pad", [name, g.const(np.array(pads, dtype=np.int64), "pads")], "pad")
        names.append(name)
    return g.node("Add", names, "add"), target  # type: ignore[return-value]
