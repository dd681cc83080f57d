"""Models: backbones by name, age and gender heads, and weight files with metadata."""

from agegender.models.networks import AgeGenderNet, ModelConfig
from agegender.models.registry import create_model, list_models

__all__ = ["AgeGenderNet", "ModelConfig", "create_model", "list_models"]
