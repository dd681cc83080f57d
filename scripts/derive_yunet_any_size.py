"""Make the YuNet graph accept any input size, so that ONNX Runtime can run it on whole photos.

The OpenCV Zoo file declares a fixed 1x3x640x640 input (OpenCV's own runner ignores it); its layers
are all size-agnostic (convolutions, pooling, 2x resizes, reshapes to (1, -1, k)). This copies the
graph with the input's height and width, and the outputs' anchor count, made symbolic and the
recorded intermediate shapes dropped; weights and layers are untouched (the test compares its
detections with OpenCV's cv2.FaceDetectorYN on the original file).

    python scripts/derive_yunet_any_size.py face_detection_yunet_2023mar.onnx \
        src/agegender/faces/models/face_detection_yunet_2023mar_any_size.onnx
"""

import argparse

import onnx


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", help="face_detection_yunet_2023mar.onnx from the OpenCV Zoo")
    ap.add_argument("out")
    args = ap.parse_args()
    model = onnx.load(args.source)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for dim, name in zip(dims[2:], ("height", "width")):
        dim.Clear()
        dim.dim_param = name
    for output in model.graph.output:
        anchors = output.type.tensor_type.shape.dim[1]
        anchors.Clear()
        anchors.dim_param = "anchors_" + output.name.split("_")[-1]
    del model.graph.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, args.out)


if __name__ == "__main__":
    main()
