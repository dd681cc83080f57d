"""The ONNX graph files linked to a weight file: where they live, their metadata, the weight file's hash.

The metadata is read from the protobuf wire format directly, so that checking a graph needs neither the
onnx package (not part of the inference install) nor an ONNX Runtime session (which would load the linked
tensors before they are checked).
"""

from __future__ import annotations

from pathlib import Path

from agegender.errors import UserError


def read_graph_metadata(graph: str | Path) -> dict[str, str]:
    """The metadata_props of an ONNX file (ModelProto field 14), without loading the graph or its tensors.

    Read from the protobuf wire format directly: the onnx package is not part of the inference
    install, and an ONNX Runtime session would load the linked tensors before they are checked.
    """
    data = Path(graph).read_bytes()
    meta: dict[str, str] = {}
    try:
        for field, value in _proto_fields(data):
            if field == 14 and isinstance(value, bytes):
                entry = dict(_proto_fields(value))
                meta[entry.get(1, b"").decode()] = entry.get(2, b"").decode()
    except (IndexError, ValueError, UnicodeDecodeError) as e:
        raise UserError(f"{graph}: not a readable ONNX file ({e})") from e
    return meta


def _proto_fields(data: bytes):
    """(field number, value) of a protobuf message's top level: ints for varints, bytes otherwise."""

    def varint(i: int) -> tuple[int, int]:
        shift = result = 0
        while True:
            b = data[i]
            result |= (b & 0x7F) << shift
            i += 1
            if not b & 0x80:
                return result, i
            shift += 7

    i = 0
    while i < len(data):
        key, i = varint(i)
        field, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, i = varint(i)
        elif wire == 1:
            value, i = data[i : i + 8], i + 8
        elif wire == 2:
            n, i = varint(i)
            value, i = data[i : i + n], i + n
        elif wire == 5:
            value, i = data[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if i > len(data):
            raise ValueError("truncated")
        yield field, value


def graph_path(weights: str | Path) -> Path:
    """Where ``agegender export --format onnx`` puts the graph linked to a weight file."""
    weights = Path(weights)
    return weights.with_name(weights.name.removesuffix(".safetensors") + ".onnx")


def int8_graph_path(weights: str | Path) -> Path:
    """Where ``agegender export --format onnx-int8`` puts the int8 graph made from a weight file."""
    weights = Path(weights)
    return weights.with_name(weights.name.removesuffix(".safetensors") + ".int8.onnx")
