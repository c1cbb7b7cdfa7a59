"""Small real ONNX models the tests build with onnx.helper: identity (pre-processing) and detector-shaped.

The detector-shaped graphs output fixed detection tensors plus 0 x mean(input), so onnxruntime really
reads the input (a wrong input shape fails) while the expected decoded boxes stay known exactly.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def identity_model(height: int, width: int, layout: str = "NCHW") -> bytes:
    """output = input, to check the tensor the pre-processing built, value for value."""
    shape = [1, 3, height, width] if layout == "NCHW" else [1, height, width, 3]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["image"], ["pixels"])],
        "identity",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, shape)],
    )
    return _serialize(graph)


def constant_outputs_model(input_shape: list[int], outputs: dict[str, np.ndarray]) -> bytes:
    """A graph whose outputs are `outputs` (+ 0 x mean(input)), in that order."""
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
    ]
    initializers = [numpy_helper.from_array(np.zeros((), np.float32), "zero")]
    graph_outputs = []
    for name, value in outputs.items():
        const = f"{name}_const"
        initializers.append(numpy_helper.from_array(value.astype(np.float32), const))
        nodes.append(helper.make_node("Add", [const, "nothing"], [name]))
        graph_outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    graph = helper.make_graph(
        nodes,
        "detector",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, input_shape)],
        graph_outputs,
        initializer=initializers,
    )
    return _serialize(graph)


def _serialize(graph: onnx.GraphProto) -> bytes:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by every onnxruntime >= 1.17
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())
