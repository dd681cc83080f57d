"""Models: backbones by name, age and gender heads, weight files, the read-out and the engines that run them.

The PyTorch parts are imported on first use, so that the read-out, weight-file metadata and the
ONNX Runtime engine work in an installation without torch.
"""

__all__ = ["AgeGenderNet", "ModelConfig", "create_model", "list_models"]


def __getattr__(name):
    if name in ("AgeGenderNet", "ModelConfig"):
        from agegender.models import networks

        return getattr(networks, name)
    if name in ("create_model", "list_models"):
        from agegender.models import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'agegender.models' has no attribute {name!r}")
