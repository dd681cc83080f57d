"""Weight averaging of fine-tuned runs: a uniform "model soup" (Wortsman et al., 2022).

Networks fine-tuned from one set of weights (other seeds, other loss weights, other
augmentation) stay in one basin of the loss, so the mean of their weights is itself a
network, often better than each and at the cost of one; with the starting weights among
them it is WiSE-FT's weight-space ensemble (Wortsman et al., 2022), which keeps what the
start did well while gaining what the fine-tunes learnt. Networks trained from different
starting points do not share a basin and their mean is noise, so :func:`average_weights`
refuses files whose recorded lineages (``fine_tuned_from``: recipes, epochs, datasets) do
not meet in one start. Batch-norm statistics are averaged like the weights, and the
calibration of the inputs (temperature, bias map, spread) no longer fits the mean: it is
saved uncalibrated, to be calibrated on val like any run (``agegender calibrate``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from agegender.errors import UserError

if TYPE_CHECKING:
    from agegender.models.networks import AgeGenderNet


def common_start(metas: list[dict]) -> dict | None:
    """The lineage every file was fine-tuned from, or is itself (the weights the others started from,
    as in WiSE-FT's mix of a network and its fine-tunes); None when there is no such one."""
    from agegender.training.setup import lineage_of

    for start in (m.get("fine_tuned_from") for m in metas):
        if start and all(m.get("fine_tuned_from") == start or lineage_of(m) == start for m in metas):
            return start
    return None


def average_weights(paths: list[str | Path]) -> tuple[AgeGenderNet, dict]:
    """(the mean network, its metadata) of weight files of one architecture fine-tuned from one ancestor."""
    from agegender.models.weight_files import weights_sha256
    from agegender.models.weights import load_model

    if len(paths) < 2:
        raise UserError("averaging needs at least two weight files")
    models, metas = zip(*(load_model(p) for p in paths))
    first_config = models[0].config.to_dict()
    for path, model in zip(paths[1:], models[1:]):
        if model.config.to_dict() != first_config:
            raise UserError(f"{path}: another architecture, head or input size than {paths[0]}; cannot average them")
    start = common_start(list(metas))
    if start is None:
        raise UserError(
            f"{', '.join(map(str, paths))} were not fine-tuned from the same weights (their recorded lineages, "
            "'fine_tuned_from', differ or are missing): networks from different starting points do not "
            "average into a working network"
        )
    states = [m.state_dict() for m in models]
    mean_state = {
        name: torch.stack([s[name] for s in states]).mean(0) if tensor.is_floating_point() else tensor
        for name, tensor in states[0].items()
    }
    soup = models[0]
    soup.load_state_dict(mean_state)
    soup.readout = soup.readout.uncalibrated()
    base = next(m for m in metas if m.get("fine_tuned_from") == start)  # a fine-tuned member, not the start
    meta = {k: v for k, v in base.items() if k not in ("val", "calibration", "tensors_sha256", "train")}
    meta["soup_of"] = [
        {
            "file": Path(p).name,
            "sha256": weights_sha256(p),
            "recipe": m.get("recipe"),
            **({"role": "start"} if m.get("fine_tuned_from") != start else {}),  # the weights the others began from
            **({"soup_of": m["soup_of"]} if m.get("soup_of") else {"train": m.get("train")}),  # a mean of means
        }
        for p, m in zip(paths, metas)
    ]
    return soup, meta
