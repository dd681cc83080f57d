"""ONNX export of a weight file: the network's graph, its tensors read from the weight file itself.

``linked`` (the default) writes ``NAME.onnx`` beside ``NAME.safetensors``: a graph of about
100 KB whose tensors are references (offset, length) into the weight file's fp16 data, cast to
fp32 when ONNX Runtime loads the graph. One set of weights serves PyTorch and ONNX Runtime, and
the graph records the weight file's SHA-256 so that a changed weight file is never read through
a stale graph. ``standalone`` writes a self-contained graph (fp16 tensors inside) for use
elsewhere. Either way the graph outputs the raw head outputs; the read-out is applied in numpy
(:mod:`agegender.models.readout`) from the config stored in the graph's metadata.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np

from agegender.errors import UserError
from agegender.models.onnx_graph import graph_path
from agegender.models.weight_files import read_header, weights_sha256
from agegender.runtime import require

OPSET = 17
_DTYPES = {"F16": np.float16, "F32": np.float32}


def export_onnx(weights: str | Path, out: str | Path | None = None, standalone: bool = False) -> Path:
    """Export the network of ``weights`` (a whole ``.safetensors`` file); return the graph's path."""
    require("torch", "train", "ONNX export")  # load_model below needs it: fail with the extra to install
    onnx = require("onnx", "train", "ONNX export")
    from onnx import TensorProto, helper, numpy_helper

    from agegender.models.weights import load_model

    weights = Path(weights)
    if not weights.is_file():
        raise FileNotFoundError(
            f"weight file not found: {weights} (a file split in .partN pieces must be "
            f"joined first: cat {weights.name}.part* > {weights.name})"
        )
    out = Path(out) if out is not None else graph_path(weights)
    if not standalone and out.resolve().parent != weights.resolve().parent:
        raise UserError(
            f"a linked graph must sit beside its weight file ({weights.parent}); "
            f"use --standalone to write a self-contained graph elsewhere"
        )
    model, meta = load_model(weights)
    # Constant folding off: it would fuse batch norms into convolutions and make tensors that are
    # not in the weight file. ONNX Runtime fuses them itself when it loads the graph.
    blob, outputs = _trace(model, fold_constants=False)
    graph = onnx.load_from_string(blob)
    header, data_start = read_header(weights)
    tensors, casts = [], []
    for init in graph.graph.initializer:
        key = init.name.removeprefix("net.")
        spec = header.get(key)
        value = numpy_helper.to_array(init)
        if spec is None or spec["dtype"] not in _DTYPES or tuple(spec["shape"]) != value.shape:
            tensors.append(init)  # an exporter constant, not a weight: kept inside the graph
            continue
        begin, end = spec["data_offsets"]
        dtype = np.dtype(_DTYPES[spec["dtype"]])
        stored = np.fromfile(
            weights, dtype=dtype, count=(end - begin) // dtype.itemsize, offset=data_start + begin
        ).reshape(spec["shape"])
        if not np.array_equal(stored.astype(np.float32), value.astype(np.float32)):
            raise RuntimeError(f"ONNX export: tensor {key} differs from the weight file's")
        if standalone:
            t = numpy_helper.from_array(stored, init.name + "::stored")
        else:
            t = TensorProto(
                name=init.name + "::stored",
                data_type=helper.np_dtype_to_tensor_dtype(stored.dtype),
                dims=list(stored.shape),
                data_location=TensorProto.EXTERNAL,
            )
            for k, v in (("location", weights.name), ("offset", str(data_start + begin)), ("length", str(end - begin))):
                entry = t.external_data.add()
                entry.key, entry.value = k, v
        tensors.append(t)
        casts.append(helper.make_node("Cast", [t.name], [init.name], to=TensorProto.FLOAT))
    _replace_tensors(graph, tensors, casts)
    props = _graph_props(model, outputs, meta)
    if not standalone:
        props.update(weights_file=weights.name, weights_sha256=weights_sha256(weights))
    # Checked by path: linked tensors are looked up beside the graph.
    return _save_graph(graph, props, out, check=onnx.checker.check_model)


def _trace(model, fold_constants: bool) -> tuple[bytes, list[str]]:
    """The ONNX bytes of ``model``'s raw outputs (batch size free) and the outputs' names."""
    import torch

    config = model.config
    outputs = ([("age_logits" if config.age_head == "distribution" else "age_raw")] if config.has_age else []) + (
        ["gender_logits"] if config.has_gender else []
    )

    class RawOutputs(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, images):
            out = self.net(images)
            return tuple(out[k] for k in outputs)

    buf = io.BytesIO()
    size = config.input_size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        # The TorchScript exporter writes to any binary file object; torch's annotation names paths only.
        torch.onnx.export(
            RawOutputs(model.float().eval()),
            (torch.rand(2, 3, size, size),),
            buf,  # type: ignore[arg-type]
            dynamo=False,
            do_constant_folding=fold_constants,
            opset_version=OPSET,
            input_names=["images"],
            output_names=outputs,
            dynamic_axes={"images": {0: "batch"}, **{k: {0: "batch"} for k in outputs}},
        )
    return buf.getvalue(), outputs


INT8_FLOAT_LAYERS = {"resnet50": ("layer4.2",), "vgg16": ()}
"""Layers an int8 graph keeps in floating point (besides the first convolution and the heads), by
backbone: chosen on val by fidelity to the fp32 model against speed and size (reports/ABLATIONS.md)."""


def quantize_int8(
    weights: str | Path, faces, out: str | Path | None = None, float_layers: tuple[str, ...] | None = None
) -> Path:
    """Write ``NAME.int8.onnx`` beside ``weights``: a standalone graph with int8 weights and activations.

    Static quantisation by ONNX Runtime (QDQ format, per-channel weights), its activation ranges
    calibrated on ``faces`` ((N, S, S, 3) uint8 aligned faces from the val split) by the
    percentile method: on val it changed fewer gender decisions of the fp32 model than min-max or
    entropy calibration (reports/ABLATIONS.md). The first convolution, the heads and the layers
    named in ``float_layers`` (default: :data:`INT8_FLOAT_LAYERS` for the backbone) stay in
    floating point, their weights stored as fp16 (cast at load) to keep the file small. The graph
    records the SHA-256 of the weight file it was made from, so a replaced weight file is never
    answered by an old int8 graph. Whether int8 is accurate enough is measured, not assumed:
    ``agegender evaluate --engine onnx-int8``.
    """
    import tempfile

    onnx = require("onnx", "train", "int8 quantisation")
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from agegender.models.onnx_graph import int8_graph_path
    from agegender.models.weights import load_model
    from agegender.preprocess import to_float_batch

    weights = Path(weights)
    out = Path(out) if out is not None else int8_graph_path(weights)
    model, meta = load_model(weights)
    if float_layers is None:
        float_layers = INT8_FLOAT_LAYERS.get(model.config.arch, ())
    size = model.config.input_size
    blob, outputs = _trace(model, fold_constants=True)

    class Faces(CalibrationDataReader):
        def __init__(self):
            self.start = 0

        def get_next(self):
            if self.start >= len(faces):
                return None
            batch = to_float_batch(faces[self.start : self.start + 32], size)
            self.start += 32
            return {"images": batch}

    with tempfile.TemporaryDirectory() as tmp:
        fp32, prepared, quantized = (Path(tmp) / n for n in ("fp32.onnx", "prepared.onnx", "int8.onnx"))
        fp32.write_bytes(blob)
        quant_pre_process(str(fp32), str(prepared))
        nodes = onnx.load(str(prepared)).graph.node
        convs = [n.name for n in nodes if n.op_type == "Conv"]
        keep = convs[:1] + [
            n.name
            for n in nodes
            if n.op_type in ("Gemm", "MatMul") or any(f"/{layer}/" in n.name for layer in float_layers)
        ]
        quantize_static(
            str(prepared),
            str(quantized),
            Faces(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.Percentile,
            nodes_to_exclude=keep,
        )
        graph = onnx.load(str(quantized))
    _store_float_weights_as_fp16(graph)
    props = {
        **_graph_props(model, outputs, meta),
        "precision": "int8",
        "calibration": "percentile",
        "float_layers": json.dumps(["first convolution", "heads", *float_layers]),
        "source_weights_file": weights.name,
        "source_weights_sha256": weights_sha256(weights),
        "calibration_faces": str(len(faces)),
    }
    return _save_graph(graph, props, out)


def _store_float_weights_as_fp16(graph, min_elements: int = 4096) -> None:
    """Store the graph's large fp32 initializers as fp16, cast back to fp32 when ONNX Runtime loads it.

    The weights come from fp16 weight files (batch norms folded in), so this halves their size at a
    cost far below int8's rounding.
    """
    from onnx import TensorProto, helper, numpy_helper

    tensors, casts = [], []
    for init in graph.graph.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            tensors.append(init)
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + "::fp16")
        tensors.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT))
    _replace_tensors(graph, tensors, casts)


def _replace_tensors(graph, tensors: list, casts: list) -> None:
    """Make ``tensors`` the graph's initializers and run ``casts`` (which turn them into the tensors
    the layers read) before every other node."""
    nodes = casts + list(graph.graph.node)
    del graph.graph.initializer[:]
    graph.graph.initializer.extend(tensors)
    del graph.graph.node[:]
    graph.graph.node.extend(nodes)


def _graph_props(model, outputs: list[str], meta: dict) -> dict[str, str]:
    """What every graph records: the config (the engine's read-out comes from it), outputs and recipe."""
    return {
        "agegender_config": json.dumps(model.config.to_dict()),
        "agegender_readout": json.dumps(model.readout.calibration()),
        "agegender_outputs": json.dumps(outputs),
        "recipe": json.dumps(meta.get("recipe", "")),
    }


def _save_graph(graph, props: dict[str, str], out: Path, check=None) -> Path:
    """Stamp ``props`` into the graph's metadata and write it atomically (after ``check(path)``, if given)."""
    for k, v in props.items():
        p = graph.metadata_props.add()
        p.key, p.value = k, v
    graph.producer_name = "agegender"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(graph.SerializeToString())
    if check is not None:
        try:
            check(str(tmp))
        except Exception:
            tmp.unlink()
            raise
    tmp.replace(out)
    return out
