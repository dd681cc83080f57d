"""Write src/agegender/assets/u8s8_probe.onnx: the 1 kB graph with which runtime.int8_products_saturate asks
ONNX Runtime whether its fast u8 x s8 products saturate on the CPU at hand (needs the 'onnx' package).

    python scripts/make_u8s8_probe.py

One MatMulInteger: uint8 ``pixels`` (rows, 64) times int8 ``weights`` (64, 16), every weight 127. With every
pixel 255 each output is 255 x 127 x 64 = 2,072,640; kernels that add pairs of products in 16 bits (x86
without VNNI) give 32,767 x 32 = 1,048,544 instead.
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = Path(__file__).resolve().parents[1] / "src" / "agegender" / "assets" / "u8s8_probe.onnx"


def main() -> None:
    weights = numpy_helper.from_array(np.full((64, 16), 127, np.int8), "weights")
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["pixels", "weights"], ["products"])],
        "u8s8_probe",
        [helper.make_tensor_value_info("pixels", TensorProto.UINT8, ["rows", 64])],
        [helper.make_tensor_value_info("products", TensorProto.INT32, ["rows", 16])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="agegender")
    model.ir_version = 8  # readable by every onnxruntime agegender accepts (>= 1.17)
    onnx.checker.check_model(model)
    onnx.save(model, OUT)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
