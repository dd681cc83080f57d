"""Weight averaging (``agegender average``): the mean of fine-tuned runs, refused across lineages."""

from __future__ import annotations

from dataclasses import replace

import torch

from agegender.cli import main

LINEAGE = {"recipe": "multitask-dldl-64-cpu-mix", "epochs": 20, "datasets": ["utkface"]}


def _fine_tune(tiny_arch, path, seed: int, lineage=LINEAGE, task: str = "both"):
    from agegender.models import create_model
    from agegender.models.weights import save_weights

    torch.manual_seed(seed)
    model = create_model(tiny_arch, task=task, age_head="distribution", input_size=32, age_min=1, age_max=100)
    model.readout = replace(model.readout, gender_temperature=1.7, age_std_scale=0.8)  # a calibrated run
    meta = {"recipe": "multitask-dldl-64-cpu-mix", "datasets": ["utkface"], "val": {"epoch": 3, "score": 5.0}}
    save_weights(model.eval(), path, {**meta, **({"fine_tuned_from": lineage} if lineage else {})}, fp16=False)
    return model.state_dict()


def test_average_is_the_mean_of_the_weights_saved_uncalibrated(tiny_arch, tmp_path, capsys):
    from agegender.models.weights import load_model

    a = _fine_tune(tiny_arch, tmp_path / "a.safetensors", seed=0)
    b = _fine_tune(tiny_arch, tmp_path / "b.safetensors", seed=1)
    out = tmp_path / "soup.safetensors"
    assert main(["average", str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors"), "-o", str(out)]) == 0
    assert "calibrate" in capsys.readouterr().out
    soup, meta = load_model(out)
    for name, tensor in soup.state_dict().items():
        if tensor.is_floating_point():  # stored fp16: equal to the mean within half precision
            torch.testing.assert_close(tensor, (a[name] + b[name]) / 2, atol=2e-3, rtol=1e-3)
    assert soup.readout.gender_temperature == 1.0 and soup.readout.age_std_scale == 1.0
    assert meta["fine_tuned_from"] == LINEAGE and "val" not in meta
    assert [s["file"] for s in meta["soup_of"]] == ["a.safetensors", "b.safetensors"]
    assert all(len(s["sha256"]) == 64 for s in meta["soup_of"])


def test_average_takes_the_starting_weights_among_their_fine_tunes(tiny_arch, tmp_path):
    """WiSE-FT: the weights a run started from average with the run; the mean records the start as its lineage."""
    from agegender.models.weights import load_model, save_weights

    _fine_tune(tiny_arch, tmp_path / "start.safetensors", seed=0, lineage=None)
    start, _ = load_model(tmp_path / "start.safetensors")  # a network trained 20 epochs from scratch
    start_meta = {"recipe": "multitask-dldl-64-cpu-mix", "val": {"epoch": 20}, "datasets": ["utkface"]}
    save_weights(start, tmp_path / "start.safetensors", start_meta, fp16=False)
    lineage = {"recipe": "multitask-dldl-64-cpu-mix", "epochs": 20, "datasets": ["utkface"]}
    _fine_tune(tiny_arch, tmp_path / "tuned.safetensors", seed=1, lineage=lineage)
    _fine_tune(tiny_arch, tmp_path / "stranger.safetensors", seed=2, lineage={**lineage, "epochs": 21})
    out = tmp_path / "wise.safetensors"
    assert (
        main(["average", str(tmp_path / "start.safetensors"), str(tmp_path / "tuned.safetensors"), "-o", str(out)]) == 0
    )
    _, meta = load_model(out)
    assert meta["fine_tuned_from"] == lineage
    assert [m.get("role") for m in meta["soup_of"]] == ["start", None]
    assert (
        main(["average", str(tmp_path / "start.safetensors"), str(tmp_path / "stranger.safetensors"), "-o", str(out)])
        == 2
    )


def test_average_refuses_other_lineages_and_architectures(tiny_arch, tmp_path, capsys):
    _fine_tune(tiny_arch, tmp_path / "a.safetensors", seed=0)
    _fine_tune(tiny_arch, tmp_path / "other.safetensors", seed=1, lineage={**LINEAGE, "epochs": 35})
    _fine_tune(tiny_arch, tmp_path / "scratch.safetensors", seed=2, lineage=None)
    _fine_tune(tiny_arch, tmp_path / "gender.safetensors", seed=3, task="gender")
    out = tmp_path / "soup.safetensors"
    for other, says in (
        ("other", "not fine-tuned from the same weights"),
        ("scratch", "not fine-tuned from the same weights"),
        ("gender", "another architecture"),
    ):
        code = main(
            ["average", str(tmp_path / "a.safetensors"), str(tmp_path / f"{other}.safetensors"), "-o", str(out)]
        )
        assert code == 2 and says in capsys.readouterr().err
    assert main(["average", str(tmp_path / "a.safetensors"), "-o", str(out)]) == 2
    assert "at least two" in capsys.readouterr().err
    assert not out.exists()
