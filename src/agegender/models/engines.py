"""Engines run a network on faces — ONNX Runtime or PyTorch behind one call — and ``predict_faces`` reads them.

An engine takes float images (N, 3, S, S) in [0, 1] and returns the network's raw outputs as
numpy arrays (``age_logits`` or ``age_raw``, ``gender_logits``); :func:`predict_faces` is the one
path from uint8 faces to answers (batching, flip averaging, the read-out of
:mod:`agegender.models.readout`) that the analyzer, evaluation, calibration and training's
validation all use. This module imports neither torch nor onnxruntime until an engine needs it:
predicting with ONNX Runtime works in an installation without PyTorch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from agegender.errors import MissingExtraError, StaleGraphError, UserError
from agegender.models.onnx_graph import graph_path, int8_graph_path, read_graph_metadata
from agegender.models.readout import ReadOut
from agegender.models.weight_files import read_metadata, weights_sha256
from agegender.preprocess import to_float_batch
from agegender.runtime import onnx_session, require

ENGINES = ("auto", "onnx-int8", "onnx", "torch")
RAW_OUTPUTS = ("age_logits", "age_raw", "gender_logits")


class Engine:
    """A network ready to run: ``config`` (its architecture, a dict), ``readout``, ``input_size``, and ``__call__``."""

    name = "engine"

    def __init__(self, config: dict, readout: ReadOut | None = None):
        self.config = dict(config)
        self.readout = readout or ReadOut.from_config(self.config)
        self.input_size = int(self.config.get("input_size", 64))

    def __call__(self, images: np.ndarray) -> dict[str, np.ndarray]:  # pragma: no cover - interface
        raise NotImplementedError


class TorchEngine(Engine):
    """A PyTorch :class:`~agegender.models.networks.AgeGenderNet` (any device, optional autocast)."""

    name = "torch"

    def __init__(self, model, device=None, autocast_dtype=None):
        import torch

        super().__init__(model.config.to_dict(), getattr(model, "readout", None))
        self.model = model.eval()
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.autocast_dtype = autocast_dtype

    def __call__(self, images: np.ndarray) -> dict[str, np.ndarray]:
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).to(self.device)
            x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(
                self.device.type, dtype=self.autocast_dtype or torch.bfloat16, enabled=self.autocast_dtype is not None
            ):
                out = self.model(x)
            return {k: out[k].float().cpu().numpy() for k in RAW_OUTPUTS if k in out}


class OnnxEngine(Engine):
    """An ONNX graph run by ONNX Runtime, on the CPU or (``device="cuda"``, with onnxruntime-gpu) a GPU.

    ``graph``: an ``.onnx`` file written by ``agegender export --format onnx``: either linked to the
    weight file beside it (the graph holds no tensors; ONNX Runtime reads the weight file's fp16
    tensors, so one set of weights serves both engines) or standalone (tensors inside).
    """

    name = "onnx"

    def __init__(self, graph: str | Path, threads: int | None = None, device: str = "cpu"):
        require("onnxruntime", None, "the ONNX Runtime engine")
        graph = Path(graph)
        meta = read_graph_metadata(graph)
        if "agegender_config" not in meta:
            raise UserError(f"{graph}: not an agegender ONNX graph (no 'agegender_config' in its metadata)")
        config = json.loads(meta["agegender_config"])
        calibration = json.loads(meta["agegender_readout"]) if "agegender_readout" in meta else None
        linked = meta.get("weights_file")
        if linked:
            weights = graph.parent / linked
            if not weights.is_file():
                raise FileNotFoundError(f"{graph} reads its tensors from {weights}, which is missing")
            if weights_sha256(weights) != meta.get("weights_sha256"):
                raise StaleGraphError(
                    f"{graph} was exported from another version of {weights.name}; export it "
                    f"again: agegender export --format onnx {weights}"
                )
            stored = read_metadata(weights)  # the weight file is the source of truth
            config, calibration = stored["config"], stored.get("readout")
        super().__init__(config, ReadOut.from_config(config, calibration))
        self.session = onnx_session(graph, threads, device)
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.input_name = self.session.get_inputs()[0].name
        self.graph = graph
        if meta.get("precision") == "int8":
            self.name = "onnx-int8"

    def __call__(self, images: np.ndarray) -> dict[str, np.ndarray]:
        outs = self.session.run(self.output_names, {self.input_name: np.ascontiguousarray(images, dtype=np.float32)})
        return dict(zip(self.output_names, outs))


def open_engine(weights: str | Path, engine: str = "auto", device: str = "cpu", threads: int | None = None) -> Engine:
    """The engine for a weight file (``.safetensors``) or an ONNX graph (``.onnx``).

    ``auto``: on the CPU, the int8 graph beside the weights when there is an up-to-date one
    (``agegender export --format onnx-int8``; the shipped models have one, reports/ABLATIONS.md),
    else the fp32 graph linked to the weights (the shipped models have one; on ``cuda`` it runs on
    ONNX Runtime's CUDA provider: :func:`~agegender.runtime.onnx_session`), else PyTorch.
    ``onnx-int8``, ``onnx`` and ``torch`` insist, with an error that says what is missing.
    """
    if engine not in ENGINES:
        raise UserError(f"engine must be one of {ENGINES}, not {engine!r}")
    weights = Path(weights)
    if weights.suffix == ".onnx":
        if engine == "torch":
            raise UserError(f"{weights} is an ONNX graph: the torch engine needs a .safetensors weight file")
        return OnnxEngine(weights, threads=threads, device=device)
    with_ort = _has("onnxruntime")
    on_cpu = device == "cpu" and with_ort
    int8 = int8_graph_path(weights)
    if engine == "onnx-int8" or (engine == "auto" and on_cpu and int8.is_file()):  # int8 pays on CPUs only
        if not int8.is_file():
            raise FileNotFoundError(
                f"no int8 graph for {weights} (looked for {int8}); write one with: "
                f"agegender export --format onnx-int8 {weights} --cache CACHE[,CACHE]"
            )
        if read_graph_metadata(int8).get("source_weights_sha256") == weights_sha256(weights):
            return OnnxEngine(int8, threads=threads)
        if engine == "onnx-int8":
            raise StaleGraphError(
                f"{int8} was made from another version of {weights.name}; make it again: "
                f"agegender export --format onnx-int8 {weights} --cache CACHE[,CACHE]"
            )
    graph = graph_path(weights)
    if engine == "onnx" or (engine == "auto" and with_ort and graph.is_file()):
        if not graph.is_file():
            raise FileNotFoundError(
                f"no ONNX graph for {weights} (looked for {graph}); write one with: "
                f"agegender export --format onnx {weights}"
            )
        try:
            return OnnxEngine(graph, threads=threads, device=device)
        except StaleGraphError:
            if engine == "onnx" or not _has("torch"):
                raise
    if not _has("torch"):
        if engine == "torch":
            raise MissingExtraError(
                "the torch engine needs the 'torch' package, which is not installed: "
                "pip install 'agegender[train]' (or use the ONNX Runtime engine: --engine onnx)"
            )
        raise MissingExtraError(
            f"{weights} has no up-to-date ONNX graph beside it, and running it with PyTorch "
            f"needs the 'torch' package: pip install 'agegender[train]', or export a graph where "
            f"PyTorch is installed (agegender export --format onnx {weights})"
        )
    from agegender.models.weights import load_model

    if threads:
        import torch

        torch.set_num_threads(int(threads))
    model, _ = load_model(weights, device)
    return TorchEngine(model, device)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def predict_faces(
    engine,
    faces: np.ndarray,
    batch_size: int = 128,
    flip_tta: bool = False,
    readout: ReadOut | None = None,
    return_views: bool = False,
    **torch_options,
) -> dict:
    """Predict for (N, S, S, 3) uint8 RGB aligned faces with an engine (or an ``AgeGenderNet``).

    Returns ``age`` (N,) in years within the model's range, ``age_std`` (N,) for distribution
    heads, ``p_female`` (N,); keys for heads the model lacks are absent. ``flip_tta`` also runs
    each face's mirror image (in the same batch) and averages the two as distributions.
    ``readout`` replaces the engine's own (calibration tries several). With ``return_views``,
    ``views`` holds the raw outputs per view (a list of dicts of (N, ...) arrays).
    ``torch_options`` (``device``, ``autocast_dtype``) apply when a PyTorch model is given.
    """
    if not isinstance(engine, Engine):
        engine = TorchEngine(engine, **torch_options)
    if not len(faces):
        raise ValueError("no faces to predict")
    readout = readout or engine.readout
    n_views = 2 if flip_tta else 1
    views: list[dict[str, list]] = [{} for _ in range(n_views)]
    for i in range(0, len(faces), batch_size):
        x = to_float_batch(faces[i : i + batch_size], engine.input_size)
        m = len(x)
        if flip_tta:
            x = np.concatenate([x, x[:, :, :, ::-1]])
        out = engine(x)
        for v in range(n_views):
            for k, arr in out.items():
                views[v].setdefault(k, []).append(arr[v * m : (v + 1) * m])
    joined = [{k: np.concatenate(parts) for k, parts in view.items()} for view in views]
    result: dict = readout.read(joined)
    if return_views:
        result["views"] = joined
    return result
