"""Backbone registry: ``create_model(name, ...)`` resolves a name to a network (timm-style)."""

from __future__ import annotations

from collections.abc import Callable

import torch.nn as nn

from agegender.errors import UserError

_BACKBONES: dict[str, Callable[..., tuple[nn.Module, int]]] = {}


def register_backbone(name: str):
    """Decorator: register a function ``(pretrained: bool) -> (module, feature_dim)``."""

    def wrap(fn):
        _BACKBONES[name] = fn
        return fn

    return wrap


def list_models() -> list[str]:
    """Names accepted by :func:`create_model`."""
    from agegender.models import backbones  # noqa: F401  (registers the built-ins)

    return sorted(_BACKBONES)


def get_backbone(name: str, pretrained: bool = False) -> tuple[nn.Module, int]:
    names = list_models()
    if name not in _BACKBONES:
        import difflib

        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UserError(f"unknown model {name!r}; choose one of {names}.{hint}")
    return _BACKBONES[name](pretrained=pretrained)


def create_model(name: str, **config):
    """Build an :class:`AgeGenderNet` with backbone ``name``; keyword arguments go to ModelConfig."""
    from agegender.models.networks import AgeGenderNet, ModelConfig

    return AgeGenderNet(ModelConfig(arch=name, **config))
