"""The installation and the process around the networks: optional packages, ONNX Runtime's settings,
and native libraries' chatter.

- which extra brings each optional package, and :func:`require` to import one or say what to install;
- the execution providers and session options of every ONNX Runtime session (networks and detector);
- :func:`quiet_native_stderr`, for the moments FFmpeg and OpenCV would write to the terminal.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys

from agegender.errors import MissingExtraError, UserError

# Optional packages and the extra that brings each (pyproject.toml); predicting needs none of them.
EXTRA_OF_MODULE = {
    "torch": "train",
    "torchvision": "train",
    "safetensors": "train",
    "scipy": "train",
    "matplotlib": "train",
    "onnx": "train",
    "fastapi": "server",
    "uvicorn": "server",
    "multipart": "server",
    "python_multipart": "server",
    "fastapi_offline": "server",
    "ray": "ray",
}


def require(module: str, extra: str | None, purpose: str):
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra to install
    (``extra=None``: a dependency of agegender itself, to reinstall)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        fix = f"pip install 'agegender[{extra}]'" if extra else f"pip install {module} (a dependency of agegender)"
        raise MissingExtraError(
            f"{purpose} needs the '{module.split('.')[0]}' package, which is not installed: {fix}"
        ) from e


DISABLED_OPTIMIZERS = ["QDQPropagationTransformer"]
"""ONNX Runtime graph optimizers left out of every session (see :func:`session_options`)."""


def onnx_providers(device: str = "cpu") -> list:
    """ONNX Runtime's execution providers for ``device``: ``cpu``, or ``cuda`` / ``cuda:N`` (the CUDA
    provider of the onnxruntime-gpu package, the CPU behind it for what it lacks). Asked for CUDA where
    that provider is missing, the CPU is used and one line says so (once per process)."""
    import onnxruntime as ort

    kind, _, index = device.partition(":")
    if kind == "cpu" and not index:
        return ["CPUExecutionProvider"]
    if kind != "cuda" or (index and not index.isdigit()):
        raise UserError(f"device must be cpu, cuda or cuda:N, not {device!r}")
    if "CUDAExecutionProvider" in ort.get_available_providers():
        return [("CUDAExecutionProvider", {"device_id": int(index or 0)}), "CPUExecutionProvider"]
    _say_once(
        f"--device {device}: this ONNX Runtime has no CUDA provider, so the CPU is used; for the GPU: "
        f"pip uninstall onnxruntime && pip install onnxruntime-gpu"
    )
    return ["CPUExecutionProvider"]


def onnx_session(path, threads: int | None = None, device: str = "cpu"):
    """An ONNX Runtime session for the graph at ``path`` on ``device``, with :func:`session_options`.

    On ``cuda`` the CUDA and cuDNN libraries that pip's nvidia packages hold are loaded first
    (onnxruntime-gpu's ``preload_dlls``: without it the CUDA provider finds them only on the
    system's library path), and a session that comes up without the CUDA provider, because those
    libraries are missing, says so in one line (once per process): the CPU runs it.
    """
    ort = require("onnxruntime", None, "ONNX Runtime")
    providers = onnx_providers(device)
    on_cuda = providers[0] != "CPUExecutionProvider"
    preload_said = _preload_cuda_libraries() if on_cuda else ""
    session = ort.InferenceSession(
        str(path), session_options(threads), providers=providers, disabled_optimizers=DISABLED_OPTIMIZERS
    )
    if on_cuda and "CUDAExecutionProvider" not in session.get_providers():
        first = preload_said.strip().splitlines()[0] if preload_said.strip() else "its libraries were not found"
        _say_once(
            f"--device {device}: ONNX Runtime's CUDA provider could not start ({first}), so the CPU is used; "
            f"it needs CUDA 12 or 13 and cuDNN 9 matching onnxruntime-gpu: pip install 'onnxruntime-gpu[cuda,cudnn]'"
        )
    return session


@functools.cache
def _preload_cuda_libraries() -> str:
    """Load the CUDA/cuDNN libraries of pip's nvidia packages (onnxruntime-gpu 1.21 and later); returns
    what ONNX Runtime printed while trying (on stdout, where it would mix with a CSV), for the note."""
    import io

    import onnxruntime as ort

    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return ""
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        try:
            preload()
        except Exception as e:  # a broken install: the session below then says what it means
            print(e)
    return said.getvalue()


@functools.cache
def _say_once(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)


def session_options(threads: int | None = None):
    """ONNX Runtime options for every session here (networks and the face detector).

    Spinning is off: by default a session's threads keep spinning on the cores for a while after
    each run, and the detector and the networks run one after another (or at once, from the read-
    ahead threads), so each session's spinning threads slowed the next one down: one 640x480
    photo from JPEG to answer (ResNet50, no flip averaging) took 31 ms with spinning and 19 ms
    without (medians of four alternating rounds), at the same batch-32 throughput
    (benchmarks/results/spinning.json).

    Quantized products are exact on every CPU: where :func:`int8_products_saturate` (x86 without
    VNNI: AVX2-only CPUs, AVX-512 ones before Cascade Lake) ``session.x64quantprecision`` makes
    ONNX Runtime use its u8 x u8 kernels, which do not saturate; elsewhere it is left off, as it
    halves the int8 networks' speed on a VNNI CPU for the same answers.

    ONNX Runtime's QDQ propagation is off: it moves the quantization of ResNet50's stem before the
    max-pooling, which then runs on uint8 in a slow generic kernel; without it the pooling runs
    on floats, as exported, for the same answers (max-pooling commutes with a monotonic
    quantization) and 11% less time per ResNet50 face (benchmarks/results/int8_kernels.json).

    The CPU memory arena is off: it grows to the largest batch a session has run and keeps that
    memory for good, so a server that had read class photos of 40 faces idled at 1.35 GB instead
    of 0.34 GB (benchmarks/results/server_load.json), for no measurable speed (arena.json).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = int(threads)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if int8_products_saturate():
        options.add_session_config_entry("session.x64quantprecision", "1")
    options.enable_cpu_mem_arena = False
    options.log_severity_level = 3
    return options


@functools.cache
def int8_products_saturate() -> bool:
    """Whether ONNX Runtime's fast int8 kernels saturate on this CPU, as they do on x86 without VNNI
    (the u8 x s8 instruction they use adds pairs of products in 16 bits). Asked of ONNX Runtime
    itself, once per process (~3 ms): assets/u8s8_probe.onnx multiplies values whose products
    overflow 16 bits. If the probe cannot run, one line says so and the answer is yes: exact products
    are never wrong, only slower where they are not needed."""
    from importlib import resources

    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        probe = resources.files("agegender") / "assets" / "u8s8_probe.onnx"
        session = ort.InferenceSession(probe.read_bytes(), options, providers=["CPUExecutionProvider"])
        products = session.run(None, {"pixels": np.full((8, 64), 255, np.uint8)})[0]
    except Exception as e:  # a damaged installation: the exact kernels are right on every CPU
        _say_once(f"the int8 kernel probe could not run ({e}), so int8 networks use exact products (slower)")
        return True
    return bool(np.any(products != 255 * 127 * 64))  # every weight is 127, every row 64 long


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence file descriptor 2, where FFmpeg and OpenCV write, for a moment: what they would say is
    said once, in plain words, by the VideoError that follows."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real descriptor: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
