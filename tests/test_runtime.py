"""ONNX Runtime's settings for every session: exact int8 products where the CPU's fast ones saturate, and graph
optimizers left out only where that keeps the answers."""

import shutil
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

from agegender import runtime
from agegender.models.shipped import shipped_weights_path

EXACT = 255 * 127 * 64  # what every product of the probe must be (assets/u8s8_probe.onnx, all pixels 255)


def test_exact_int8_products_are_exact_on_this_cpu():
    """The setting turned on where the fast kernels saturate does give the right products, here."""
    from importlib import resources

    options = ort.SessionOptions()
    options.add_session_config_entry("session.x64quantprecision", "1")
    probe = (resources.files("agegender") / "assets" / "u8s8_probe.onnx").read_bytes()
    session = ort.InferenceSession(probe, options, providers=["CPUExecutionProvider"])
    products = session.run(None, {"pixels": np.full((8, 64), 255, np.uint8)})[0]
    assert products.shape == (8, 16) and (products == EXACT).all()


@pytest.mark.parametrize("saturate", [True, False])
def test_sessions_ask_for_exact_products_only_where_the_cpu_needs_them(monkeypatch, saturate):
    monkeypatch.setattr(runtime, "int8_products_saturate", lambda: saturate)
    options = runtime.session_options(1)
    try:
        asked = options.get_session_config_entry("session.x64quantprecision") == "1"
    except RuntimeError:  # no such entry: ONNX Runtime's default, the fast kernels
        asked = False
    assert asked is saturate


def test_a_probe_that_cannot_run_means_exact_products_and_says_so(monkeypatch, capsys):
    """Exact products are right on every CPU, so a broken probe must not switch them off; it costs speed, so
    one line says why."""
    runtime.int8_products_saturate.cache_clear()
    runtime._say_once.cache_clear()
    monkeypatch.setattr(ort, "InferenceSession", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("damaged")))
    try:
        assert runtime.int8_products_saturate() is True
        assert "int8 kernel probe could not run (damaged)" in capsys.readouterr().err
    finally:
        monkeypatch.undo()
        runtime.int8_products_saturate.cache_clear()
    assert runtime.int8_products_saturate() in (True, False)


@pytest.mark.parametrize("name", ["resnet50", "vgg16"])
def test_the_optimizers_left_out_change_no_answer_of_the_int8_graphs(name):
    graph = shipped_weights_path(name).with_suffix(".int8.onnx")
    faces = np.random.default_rng(0).uniform(0, 255, (16, 3, 64, 64)).astype(np.float32)
    outputs = []
    for disabled in (runtime.DISABLED_OPTIMIZERS, []):
        session = ort.InferenceSession(
            str(graph), runtime.session_options(1), providers=["CPUExecutionProvider"], disabled_optimizers=disabled
        )
        outputs.append(session.run(None, {"images": faces}))
    for ours, default in zip(*outputs):
        np.testing.assert_array_equal(ours, default)


QEMU = shutil.which("qemu-x86_64")
EMULATED = r"""
import numpy as np
from agegender.models.engines import open_engine
from agegender.models.shipped import shipped_weights_path
from agegender.runtime import int8_products_saturate
engine = open_engine(shipped_weights_path("resnet50"), engine="onnx-int8", threads=1)
noise = np.random.default_rng(0).uniform(0, 255, (8, 3, 64, 64)).astype(np.float32)
logits = np.concatenate([o.ravel() for o in engine.session.run(None, {"images": noise})])
print(int8_products_saturate(), *logits.round(4))
"""


@pytest.mark.slow
@pytest.mark.skipif(QEMU is None, reason="needs qemu-user (apt-get install qemu-user) to emulate an AVX2-only CPU")
def test_an_avx2_only_cpu_gets_the_same_int8_answers_as_this_one():
    """On an emulated Haswell (AVX2, no AVX-512, no VNNI: the fast kernels saturate there) the probe says so
    and the int8 ResNet50 gives the same outputs as on this CPU (on noise, where the fast kernels there
    moved logits by up to 0.4)."""
    here = subprocess.run([sys.executable, "-c", EMULATED], capture_output=True, text=True, check=True)
    there = subprocess.run(
        [QEMU, "-cpu", "Haswell-v4", sys.executable, "-c", EMULATED], capture_output=True, text=True, check=True
    )
    saturate_there, *answers_there = there.stdout.split()
    assert saturate_there == "True"
    # float layers (the stem, the heads) run FMA3 kernels there, AVX-512 ones here: equal to rounding
    np.testing.assert_allclose(np.float64(answers_there), np.float64(here.stdout.split()[1:]), atol=2e-3)
