"""ONNX Runtime and PyTorch engines: same answers, graphs that match their weights, no torch on the ONNX path."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agegender.cli import main
from agegender.data.images import read_image
from agegender.errors import MissingExtraError, StaleGraphError
from agegender.faces.align import align_face, default_template
from agegender.faces.detect import FaceDetector
from agegender.models.engines import OnnxEngine, TorchEngine, open_engine, predict_faces
from agegender.models.onnx_graph import graph_path, read_graph_metadata
from agegender.models.shipped import SHIPPED_MODELS, shipped_weights_path
from agegender.models.weight_files import weights_sha256
from agegender.preprocess import prepare_face

EXAMPLE = Path(__file__).resolve().parents[2] / "src" / "agegender" / "assets" / "astronaut.jpg"


def real_faces(utkface_root: Path | None, size: int = 64) -> np.ndarray:
    """The example photo's face, aligned as the analyzer aligns it, in 8 framings; plus UTKFace chips if present."""
    image = read_image(EXAMPLE)
    det = FaceDetector().detect(image)[0]
    tpl = default_template()
    faces = []
    for dx, dy, scale in [
        (0, 0, 1.0),
        (3, 0, 1.0),
        (0, -3, 1.0),
        (0, 0, 1.1),
        (0, 0, 0.9),
        (-3, 2, 1.05),
        (2, 2, 0.95),
        (0, 4, 1.0),
    ]:
        lm = det.landmarks.copy()
        centre = lm.mean(0)
        lm = (lm - centre) * scale + centre + [dx, dy]
        faces.append(prepare_face(align_face(image, lm, tpl, tpl.crop_size), size))
    if utkface_root is not None:
        for path in sorted(utkface_root.iterdir())[:40]:
            faces.append(prepare_face(read_image(path), size))
    return np.stack(faces)


@pytest.mark.parametrize("name", SHIPPED_MODELS)
def test_shipped_weights_carry_an_up_to_date_onnx_graph(name):
    weights = shipped_weights_path(name)
    meta = read_graph_metadata(graph_path(weights))
    assert meta["weights_file"] == weights.name
    assert meta["weights_sha256"] == weights_sha256(weights), "re-export: agegender export --format onnx " + str(
        weights
    )
    assert graph_path(weights).stat().st_size < 500_000  # the tensors stay in the weight file


@pytest.mark.parametrize("name", SHIPPED_MODELS)
def test_onnx_and_torch_engines_give_the_same_ages_and_genders_on_real_faces(name):
    from tests.support import UTKFACE

    faces = real_faces(UTKFACE if UTKFACE.is_dir() else None)
    onnx_engine = open_engine(shipped_weights_path(name), engine="onnx")
    torch_engine = open_engine(shipped_weights_path(name), engine="torch")
    assert isinstance(onnx_engine, OnnxEngine) and isinstance(torch_engine, TorchEngine)
    a = predict_faces(onnx_engine, faces, flip_tta=True)
    b = predict_faces(torch_engine, faces, flip_tta=True)
    assert np.abs(a["age"] - b["age"]).max() <= 0.05
    assert np.abs(a["p_female"] - b["p_female"]).max() <= 0.002
    assert np.abs(a["age_std"] - b["age_std"]).max() <= 0.05
    assert a["age"].std() > 0  # real, different faces get different answers


def change_weights(weights: Path) -> None:
    """Rewrite a weight file in place with one bias changed, as a new training would."""
    import torch

    from agegender.models.weights import load_model, save_weights

    model, _ = load_model(weights)
    with torch.no_grad():
        model.gender_head[3].bias += 1.0
    save_weights(model, weights, {"recipe": "changed"})


def test_a_changed_weight_file_is_never_read_through_its_old_graph(tiny_weights, tmp_path):
    weights = tmp_path / "tiny.safetensors"
    shutil.copy(tiny_weights, weights)
    assert main(["export", "--format", "onnx", str(weights)]) == 0
    assert isinstance(open_engine(weights), OnnxEngine)  # auto picks the graph beside the weights
    change_weights(weights)
    with pytest.raises(StaleGraphError, match="export it again"):
        open_engine(weights, engine="onnx")
    assert isinstance(open_engine(weights), TorchEngine)  # auto: correct answers, if slower


def test_standalone_graph_runs_without_its_weight_file(random_weights, tmp_path, capsys):
    graph = tmp_path / "elsewhere" / "model.onnx"
    assert main(["export", "--format", "onnx", str(random_weights["resnet50"]), "-o", str(graph), "--standalone"]) == 0
    assert "wrote" in capsys.readouterr().out
    faces = np.random.default_rng(0).integers(0, 255, (5, 32, 32, 3), dtype=np.uint8)
    a = predict_faces(open_engine(graph), faces)
    b = predict_faces(open_engine(random_weights["resnet50"], engine="torch"), faces)
    assert np.abs(a["age"] - b["age"]).max() <= 0.05 and np.abs(a["p_female"] - b["p_female"]).max() <= 0.002


def test_engine_onnx_without_a_graph_says_how_to_make_one(random_weights, tmp_path):
    weights = tmp_path / "w.safetensors"
    shutil.copy(random_weights["vgg16"], weights)
    with pytest.raises(FileNotFoundError, match="agegender export --format onnx"):
        open_engine(weights, engine="onnx")


def test_without_torch_a_graphless_weight_file_names_the_extra_to_install(random_weights, tmp_path, monkeypatch):
    import agegender.models.engines as engines

    weights = tmp_path / "w.safetensors"
    shutil.copy(random_weights["vgg16"], weights)
    monkeypatch.setattr(engines, "_has", lambda module: module != "torch")
    with pytest.raises(MissingExtraError, match=r"agegender\[train\]"):
        open_engine(weights)


def test_predicting_with_the_shipped_models_never_imports_torch():
    code = (
        "import sys\nfrom agegender import FaceAnalyzer\n"
        f"r = FaceAnalyzer().analyze({str(EXAMPLE)!r})\n"
        "assert len(r.faces) == 1, r.faces\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_int8_graph_is_preferred_when_fresh_and_refused_when_stale(tiny_weights, tmp_path, capsys):
    from agegender.models.onnx_export import quantize_int8
    from agegender.models.onnx_graph import int8_graph_path, read_graph_metadata

    weights = tmp_path / "tiny.safetensors"
    shutil.copy(tiny_weights, weights)
    faces = np.random.default_rng(0).integers(0, 255, (64, 32, 32, 3), dtype=np.uint8)
    graph = quantize_int8(weights, faces)
    assert graph == int8_graph_path(weights) and read_graph_metadata(graph)["precision"] == "int8"
    engine = open_engine(weights)
    assert isinstance(engine, OnnxEngine) and engine.name == "onnx-int8"
    out = predict_faces(engine, faces[:5], flip_tta=True)
    assert out["age"].shape == (5,) and np.all((out["p_female"] >= 0) & (out["p_female"] <= 1))
    change_weights(weights)
    with pytest.raises(StaleGraphError, match="make it again"):
        open_engine(weights, engine="onnx-int8")
    assert open_engine(weights).name == "torch"  # auto: never the stale int8 graph


def test_shipped_models_run_their_int8_graphs_on_the_cpu_and_fp32_when_asked_or_on_cuda():
    # The int8 graphs of the shipped weights passed the int8 rule on every test split (reports/ABLATIONS.md).
    for name in SHIPPED_MODELS:
        weights = shipped_weights_path(name)
        assert open_engine(weights).name == "onnx-int8"
        assert open_engine(weights, engine="onnx").name == "onnx"
        assert open_engine(weights, device="cuda").name == "onnx"  # int8 pays on CPUs only


def test_int8_graph_keeps_the_first_convolution_and_the_heads_in_float(tiny_weights, tmp_path):
    import onnx

    from agegender.models.onnx_export import quantize_int8

    weights = tmp_path / "tiny.safetensors"
    shutil.copy(tiny_weights, weights)
    faces = np.random.default_rng(0).integers(0, 255, (64, 32, 32, 3), dtype=np.uint8)
    graph = onnx.load(str(quantize_int8(weights, faces)))
    made_by = {o: n for n in graph.graph.node for o in n.output}

    def quantized(n):
        return any(made_by.get(i) is not None and made_by[i].op_type == "DequantizeLinear" for i in n.input[1:2])

    convs = [n for n in graph.graph.node if n.op_type == "Conv"]
    heads = [n for n in graph.graph.node if n.op_type in ("Gemm", "MatMul")]
    assert heads and not quantized(convs[0]) and not any(quantized(n) for n in heads)
    assert any(quantized(n) for n in convs[1:])


def test_float_weights_stored_as_fp16_give_the_same_outputs(tiny_weights):
    import onnx
    import onnxruntime as ort

    from agegender.models.onnx_export import _store_float_weights_as_fp16, _trace
    from agegender.models.weights import load_model

    blob, outputs = _trace(load_model(tiny_weights)[0], fold_constants=True)
    graph = onnx.load_from_string(blob)
    _store_float_weights_as_fp16(graph, min_elements=1)
    assert not [t.name for t in graph.graph.initializer if t.data_type == onnx.TensorProto.FLOAT and t.dims]
    x = np.random.default_rng(0).random((4, 3, 32, 32), dtype=np.float32)
    before, after = (
        ort.InferenceSession(b, providers=["CPUExecutionProvider"]).run(outputs, {"images": x})
        for b in (blob, graph.SerializeToString())
    )
    for a, b in zip(before, after):
        np.testing.assert_allclose(a, b, atol=2e-2, rtol=1e-2)


def test_cuda_uses_onnx_runtimes_cuda_provider_where_there_is_one_and_says_so_where_not(monkeypatch, capsys):
    import onnxruntime as ort

    from agegender import runtime
    from agegender.errors import UserError

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert runtime.onnx_providers("cuda:1") == [("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider"]
    assert runtime.onnx_providers("cuda")[0] == ("CUDAExecutionProvider", {"device_id": 0})
    assert runtime.onnx_providers("cpu") == ["CPUExecutionProvider"]
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    runtime._say_once.cache_clear()
    assert runtime.onnx_providers("cuda") == ["CPUExecutionProvider"]
    assert runtime.onnx_providers("cuda") == ["CPUExecutionProvider"]
    err = capsys.readouterr().err
    assert err.count("no CUDA provider") == 1 and "onnxruntime-gpu" in err
    for bad in ("gpu", "cuda:x", "cpu:0"):
        with pytest.raises(UserError, match="cpu, cuda or cuda:N"):
            runtime.onnx_providers(bad)


def test_a_cuda_session_that_starts_without_its_provider_says_so_once_and_keeps_stdout_clean(monkeypatch, capsys):
    """onnxruntime-gpu installed but its CUDA libraries missing: preload_dlls prints its failures on stdout
    (where a CSV may go) and the session falls back to the CPU; one note on stderr says why, stdout stays empty."""
    import onnxruntime as ort

    from agegender import runtime
    from agegender.faces.detect import default_model_path

    def preload_dlls():
        print("Failed to load libcublasLt.so.13: cannot open shared object file")

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(ort, "preload_dlls", preload_dlls, raising=False)
    real_session = ort.InferenceSession
    monkeypatch.setattr(
        ort,
        "InferenceSession",
        lambda path, options, providers, **kw: real_session(path, options, ["CPUExecutionProvider"], **kw),
    )
    runtime._say_once.cache_clear()
    runtime._preload_cuda_libraries.cache_clear()
    for _ in range(2):
        session = runtime.onnx_session(default_model_path(), device="cuda")
        assert session.get_providers() == ["CPUExecutionProvider"]
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("CUDA provider could not start") == 1 and "libcublasLt.so.13" in err
    runtime._preload_cuda_libraries.cache_clear()


def test_the_analyzer_on_cuda_runs_the_shipped_graphs_on_onnx_runtime(capsys):
    """Without a GPU the same ONNX graphs run on the CPU behind a one-line note (checked on a GPU where one is lent)."""
    from agegender import runtime
    from agegender.inference import FaceAnalyzer

    runtime._say_once.cache_clear()
    analyzer = FaceAnalyzer(models=("resnet50",), device="cuda")
    assert analyzer.engines == {"resnet50": "onnx"}
    import onnxruntime as ort

    expected = (
        "CUDAExecutionProvider" if "CUDAExecutionProvider" in ort.get_available_providers() else "CPUExecutionProvider"
    )
    assert analyzer.models["resnet50"].session.get_providers()[0] == expected
