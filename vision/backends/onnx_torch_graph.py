"""Running an ultralytics YOLO ONNX export as a torch module, so the GPU path needs no ultralytics.

The export is a plain feed-forward graph of a dozen operator types. `OnnxGraphModule` runs its nodes
with torch ops in topological order, with three changes that make it fast and batch-free:

- `Sigmoid(x) * x` pairs run as one `silu` (half the kernel launches of the network);
- the batch size baked into `Reshape` shapes (exports have batch 1) follows the input's batch;
- float weights are buffers, so `.to(device, torch.float16)` moves and casts the whole model.

Weights are read with the `onnx` package (the `gpu` extra), never downloaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tenken.errors import ModelError

SUPPORTED_OPS = frozenset(
    {
        "Conv",
        "Sigmoid",
        "Mul",
        "Add",
        "Sub",
        "Div",
        "Concat",
        "Split",
        "Reshape",
        "MaxPool",
        "Resize",
        "Slice",
        "Transpose",
        "Softmax",
        "Constant",
        "Identity",
        "Cast",
    }
)
FLOAT_TYPES = (1, 10)  # TensorProto FLOAT, FLOAT16: the module runs in one float type of its own


@dataclass(frozen=True)
class OnnxGraphInfo:
    """What the export says about itself: input name and fixed size, batch, metadata strings."""

    input_name: str
    batch: int | None  # None: the export has a dynamic batch
    imgsz: int
    metadata: dict[str, str]


Step = tuple[Callable[..., Any], tuple[str, ...], tuple[str, ...]]


def _attributes(node: Any) -> dict[str, Any]:
    import onnx

    values = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in values.items()}


def _symmetric_padding(pads: Sequence[int], op: str) -> tuple[int, int]:
    if len(pads) != 4 or pads[0] != pads[2] or pads[1] != pads[3]:
        raise ModelError(f"{op} with asymmetric padding {list(pads)} is not supported by the torch backend")
    return int(pads[0]), int(pads[1])


def _load_graph(path: Path) -> Any:
    try:
        import onnx
    except ImportError:
        raise ModelError(
            "the torch backend reads ONNX weights with the 'onnx' package (pip install 'tenken[gpu]')"
        ) from None
    try:
        return onnx.load(str(path))
    except Exception as exc:  # protobuf raises its own DecodeError
        raise ModelError(f"{path}: not a loadable ONNX model ({str(exc).splitlines()[0]})") from None


class OnnxGraphModule(torch.nn.Module):
    """An ultralytics YOLO ONNX export as a `torch.nn.Module`: `module(nchw) -> raw head output`."""

    def __init__(self, path: Path) -> None:
        from onnx import numpy_helper

        super().__init__()
        model = _load_graph(path)
        graph = model.graph
        unsupported = sorted({n.op_type for n in graph.node} - SUPPORTED_OPS)
        if unsupported:
            raise ModelError(f"{path}: the torch backend does not run ONNX ops {', '.join(unsupported)}")
        self._ints: dict[str, list[int]] = {}
        self._buffer_of: dict[str, str] = {}
        for init in graph.initializer:
            self._add_constant(init.name, numpy_helper.to_array(init))
        for node in graph.node:
            if node.op_type == "Constant":
                self._add_constant(node.output[0], numpy_helper.to_array(_attributes(node)["value"]))
            elif node.op_type == "Cast" and node.input[0] in self._constant_names():
                # fp16 exports store weights as FLOAT16 and cast them: fold that here.
                self._add_constant(node.output[0], self._constant_array(node.input[0]))
        inp = graph.input[0]
        dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
        metadata = {p.key: p.value for p in model.metadata_props}
        self.info = OnnxGraphInfo(inp.name, dims[0], int(dims[2] or 640), metadata)
        self.output_name = graph.output[0].name
        self._steps = self._compile(list(graph.node))

    def _constant_names(self) -> set[str]:
        return set(self._ints) | set(self._buffer_of)

    def _constant_array(self, name: str) -> np.ndarray:
        if name in self._ints:
            return np.asarray(self._ints[name], dtype=np.int64)
        return np.asarray(getattr(self, self._buffer_of[name]).numpy())

    def _add_constant(self, name: str, array: np.ndarray) -> None:
        if np.issubdtype(array.dtype, np.integer):
            self._ints[name] = [int(v) for v in array.reshape(-1)]
            return
        buffer = f"c{len(self._buffer_of)}"
        self.register_buffer(buffer, torch.from_numpy(np.array(array, dtype=np.float32)))
        self._buffer_of[name] = buffer

    def _compile(self, nodes: list[Any]) -> list[Step]:
        consumers: dict[str, int] = {}
        for node in nodes:
            for name in node.input:
                consumers[name] = consumers.get(name, 0) + 1
        sigmoid_input = {n.output[0]: n.input[0] for n in nodes if n.op_type == "Sigmoid"}
        fused: set[str] = set()  # Sigmoid outputs folded into a silu
        steps: list[Step] = []
        for node in nodes:
            if node.op_type == "Mul":
                a, b = node.input
                for x, s in ((a, b), (b, a)):
                    if sigmoid_input.get(s) == x and consumers.get(s) == 1:
                        fused.add(s)
                        steps.append((self._silu, (x,), tuple(node.output)))
                        break
                else:
                    steps.append(self._step(node))
                continue
            if node.op_type == "Constant" or node.output[0] in self._constant_names():
                continue  # folded when the module was built
            steps.append(self._step(node))
        return [s for s in steps if not (s[0] == self._sigmoid and s[2][0] in fused)]

    def _step(self, node: Any) -> Step:
        op, attrs = node.op_type, _attributes(node)
        inputs, outputs = tuple(node.input), tuple(node.output)
        fn: Callable[..., Any]
        if op == "Conv":
            pad = _symmetric_padding(attrs.get("pads", [0, 0, 0, 0]), op)
            stride, dilation = tuple(attrs.get("strides", [1, 1])), tuple(attrs.get("dilations", [1, 1]))
            groups = int(attrs.get("group", 1))

            def fn(x: Any, w: Any, b: Any = None) -> Any:
                return F.conv2d(x, w, b, stride, pad, dilation, groups)

        elif op == "Sigmoid":
            fn = self._sigmoid
        elif op in ("Mul", "Add", "Sub", "Div"):
            fn = {"Mul": torch.mul, "Add": torch.add, "Sub": torch.sub, "Div": torch.div}[op]
        elif op == "Concat":
            axis = int(attrs["axis"])

            def fn(*xs: Any) -> Any:
                return torch.cat(xs, axis)

        elif op == "Split":
            axis, sizes = int(attrs.get("axis", 0)), attrs.get("split")
            if len(inputs) > 1 and inputs[1]:
                sizes, inputs = self._ints[inputs[1]], inputs[:1]
            count = len(outputs)

            def fn(x: Any) -> Any:
                return torch.split(x, sizes or x.shape[axis] // count, axis)

        elif op == "Reshape":
            shape, inputs = list(self._ints[inputs[1]]), inputs[:1]

            def fn(x: Any) -> Any:
                # Exports bake their batch (1) into reshapes; every YOLO reshape keeps batch first.
                return x.reshape([x.shape[0], *shape[1:]] if shape[0] == 1 else shape)

        elif op == "MaxPool":
            kernel, stride = tuple(attrs["kernel_shape"]), tuple(attrs.get("strides", [1, 1]))
            pad = _symmetric_padding(attrs.get("pads", [0, 0, 0, 0]), op)

            def fn(x: Any) -> Any:
                return F.max_pool2d(x, kernel, stride, pad, ceil_mode=bool(attrs.get("ceil_mode", 0)))

        elif op == "Resize":
            if attrs.get("mode", "nearest") != "nearest" or len(inputs) < 3 or not inputs[2]:
                raise ModelError("the torch backend runs only nearest-neighbour Resize by fixed scales")
            scales, inputs = self._float_constant(inputs[2]), inputs[:1]
            factor = (float(scales[2]), float(scales[3]))

            def fn(x: Any) -> Any:
                return F.interpolate(x, scale_factor=factor, mode="nearest")

        elif op == "Slice":
            starts, ends = self._ints[inputs[1]], self._ints[inputs[2]]
            axes = self._ints[inputs[3]] if len(inputs) > 3 else list(range(len(starts)))
            steps = self._ints[inputs[4]] if len(inputs) > 4 else [1] * len(starts)
            inputs = inputs[:1]

            def fn(x: Any) -> Any:
                index = [slice(None)] * x.dim()
                for axis, start, end, step in zip(axes, starts, ends, steps, strict=True):
                    index[axis] = slice(start, min(end, x.shape[axis]), step)
                return x[tuple(index)]

        elif op == "Transpose":
            perm = tuple(attrs["perm"])

            def fn(x: Any) -> Any:
                return x.permute(perm)

        elif op == "Softmax":
            axis = int(attrs.get("axis", -1))

            def fn(x: Any) -> Any:
                return torch.softmax(x, axis)

        else:  # Identity, or a Cast between float types (the module computes in one float type)
            if op == "Cast" and int(attrs["to"]) not in FLOAT_TYPES:
                raise ModelError(f"the torch backend casts only between float types, not to {attrs['to']}")

            def fn(x: Any) -> Any:
                return x

        return fn, inputs, outputs

    def _float_constant(self, name: str) -> list[float]:
        return [float(v) for v in getattr(self, self._buffer_of[name]).reshape(-1).tolist()]

    @staticmethod
    def _silu(x: Any) -> Any:
        return F.silu(x)

    @staticmethod
    def _sigmoid(x: Any) -> Any:
        return x.sigmoid()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        values: dict[str, Any] = {self.info.input_name: images}
        for name, buffer in self._buffer_of.items():
            values[name] = getattr(self, buffer)
        for fn, inputs, outputs in self._steps:
            result = fn(*(values[i] for i in inputs if i))
            if len(outputs) == 1:
                values[outputs[0]] = result
            else:
                values.update(zip(outputs, result, strict=True))
        out: torch.Tensor = values[self.output_name]
        return out
