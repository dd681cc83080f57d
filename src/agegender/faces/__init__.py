"""Faces in photos: detection (YuNet, 5 landmarks) and alignment to the UTKFace framing."""

from agegender.faces.align import AlignmentTemplate, align_face, default_template
from agegender.faces.detect import Detection, FaceDetector

__all__ = ["AlignmentTemplate", "Detection", "FaceDetector", "align_face", "default_template"]
