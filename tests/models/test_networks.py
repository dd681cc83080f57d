import pytest
import torch

from agegender.models import create_model, list_models
from agegender.models.weights import load_model, read_metadata, save_weights
from agegender.training.losses import age_loss


def test_registry_lists_both_architectures_and_suggests_close_names():
    assert {"resnet50", "vgg16"} <= set(list_models())  # (the test suite registers a tiny one too)
    with pytest.raises(ValueError, match="Did you mean 'vgg16'"):
        create_model("vgg61")


@pytest.mark.parametrize("arch", ["vgg16", "resnet50"])
@pytest.mark.parametrize("task, age_head", [("both", "regression"), ("age", "distribution"), ("gender", "regression")])
def test_outputs_shapes_and_every_parameter_learns(arch, task, age_head):
    torch.manual_seed(0)
    model = create_model(arch, task=task, age_head=age_head, input_size=32)
    out = model(torch.rand(2, 3, 32, 32))
    loss = torch.zeros(())
    if task in ("age", "both"):
        key = "age_logits" if age_head == "distribution" else "age_raw"
        assert out[key].shape == ((2, 33) if age_head == "distribution" else (2,))
        loss = loss + age_loss(
            out, torch.tensor([20.0, 40.0]), model.config, "dldl" if age_head == "distribution" else "mse"
        )
    else:
        assert "age_logits" not in out and "age_raw" not in out
    if task in ("gender", "both"):
        assert out["gender_logits"].shape == (2, 2)
        loss = loss + out["gender_logits"].sum()
    loss.backward()
    assert all(torch.isfinite(v).all() for v in out.values())
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_wrong_input_shape_names_it():
    with pytest.raises(ValueError, match=r"\(2, 1, 32, 32\)"):
        create_model("resnet50")(torch.rand(2, 1, 32, 32))


def test_fp16_safetensors_round_trip_with_metadata_and_parts(tmp_path):
    torch.manual_seed(0)
    model = create_model("resnet50", task="both", input_size=48, age_min=1, age_max=100).eval()
    files = save_weights(
        model, tmp_path / "r50.safetensors", {"recipe": "test", "val": {"age_mae": 4.2}}, part_bytes=20_000_000
    )
    assert [f.name for f in files] == [f"r50.safetensors.part{i}" for i in range(len(files))] and len(files) >= 2
    loaded, meta = load_model(tmp_path / "r50.safetensors")
    assert meta["recipe"] == "test" and meta["val"]["age_mae"] == 4.2
    assert loaded.config == model.config
    x = torch.rand(3, 3, 48, 48)
    with torch.no_grad():
        a, b = model(x), loaded(x)
    assert torch.allclose(a["age_raw"], b["age_raw"], atol=0.05)
    assert read_metadata(tmp_path / "r50.safetensors")["config"]["arch"] == "resnet50"


def test_pretrained_without_local_weights_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="never downloads"):
        create_model("vgg16", pretrained=True)


def test_readout_is_saved_beside_the_architecture_and_checked(tmp_path):
    import dataclasses

    from agegender.models.readout import ReadOut

    model = create_model("resnet50", task="age", age_head="distribution", input_size=32)
    model.readout = dataclasses.replace(model.readout, age_readout="mean", age_std_scale=0.8)
    save_weights(model, tmp_path / "w.safetensors", {})
    loaded = load_model(tmp_path / "w.safetensors")[0]
    assert (loaded.readout.age_readout, loaded.readout.age_std_scale) == ("mean", 0.8)
    assert loaded.config == model.config  # the architecture alone, compared as a whole
    with pytest.raises(ValueError, match="age_readout"):
        ReadOut(age_head="distribution", age_readout="mode")


def test_format_1_weight_files_load_with_their_calibration_and_datasets(tmp_path):
    """Format 1 (no format key): the calibration inside the config, no datasets meaning UTKFace alone."""
    import json

    from safetensors.torch import load_file, save_file

    from agegender.models.weight_files import FORMAT_KEY, WEIGHT_FORMAT, trained_on

    model = create_model("resnet50", task="age", age_head="distribution", input_size=32)
    save_weights(model, tmp_path / "new.safetensors", {"datasets": ["utkface", "aaf"]})
    assert read_metadata(tmp_path / "new.safetensors")[FORMAT_KEY] == WEIGHT_FORMAT
    flat = {
        **model.config.to_dict(),
        "gender_temperature": 1.2,
        "age_std_scale": 0.9,
        "age_readout": "median",
        "age_bias_knots": [10.0, 40.0],
        "age_bias_shifts": [1.0, -2.0],
    }
    save_file(
        load_file(tmp_path / "new.safetensors"), tmp_path / "old.safetensors", metadata={"config": json.dumps(flat)}
    )
    old = load_model(tmp_path / "old.safetensors")[0]
    assert old.readout.age_std_scale == 0.9 and old.readout.age_bias_shifts == (1.0, -2.0)
    assert old.config == model.config
    meta = read_metadata(tmp_path / "old.safetensors")
    assert "gender_temperature" not in meta["config"] and meta["readout"]["gender_temperature"] == 1.2
    assert trained_on(meta) == ["utkface"]
    assert trained_on(read_metadata(tmp_path / "new.safetensors")) == ["utkface", "aaf"]


def test_a_weight_file_of_a_newer_format_is_refused_by_name(tmp_path):
    import json

    from safetensors.torch import load_file, save_file

    from agegender.errors import UserError
    from agegender.models.weight_files import FORMAT_KEY, WEIGHT_FORMAT

    model = create_model("resnet50", task="age", input_size=32)
    save_weights(model, tmp_path / "w.safetensors", {})
    meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in read_metadata(tmp_path / "w.safetensors").items()}
    save_file(
        load_file(tmp_path / "w.safetensors"),
        tmp_path / "newer.safetensors",
        metadata={**meta, FORMAT_KEY: str(WEIGHT_FORMAT + 1)},
    )
    with pytest.raises(UserError, match=f"format {WEIGHT_FORMAT + 1}.*upgrade"):
        load_model(tmp_path / "newer.safetensors")
