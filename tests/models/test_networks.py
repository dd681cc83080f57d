import pytest
import torch

from agegender.models import create_model, list_models
from agegender.models.networks import read_age_distribution
from agegender.models.weights import load_model, read_metadata, save_weights
from agegender.training.losses import age_loss


def test_registry_lists_both_architectures_and_suggests_close_names():
    assert list_models() == ["resnet50", "vgg16"]
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
        assert out["age"].shape == (2,)
        loss = loss + age_loss(out, torch.tensor([20.0, 40.0]), model.config,
                               "dldl" if age_head == "distribution" else "mse")
    else:
        assert "age" not in out
    if task in ("gender", "both"):
        assert out["gender_logits"].shape == (2, 2)
        loss = loss + out["gender_logits"].sum()
    if age_head == "distribution":
        assert out["age_std"].shape == (2,) and (out["age_std"] >= 0).all()
        assert (out["age"] >= 18).all() and (out["age"] <= 50).all()
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
    files = save_weights(model, tmp_path / "r50.safetensors", {"recipe": "test", "val": {"age_mae": 4.2}},
                         part_bytes=20_000_000)
    assert [f.name for f in files] == [f"r50.safetensors.part{i}" for i in range(len(files))] and len(files) >= 2
    loaded, meta = load_model(tmp_path / "r50.safetensors")
    assert meta["recipe"] == "test" and meta["val"]["age_mae"] == 4.2
    assert loaded.config == model.config
    x = torch.rand(3, 3, 48, 48)
    with torch.no_grad():
        a, b = model(x), loaded(x)
    assert torch.allclose(a["age"], b["age"], atol=0.5)
    assert read_metadata(tmp_path / "r50.safetensors")["config"]["arch"] == "resnet50"


def test_pretrained_without_local_weights_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="never downloads"):
        create_model("vgg16", pretrained=True)


def test_median_readout_is_robust_to_a_long_tail_and_mean_stays_available():
    bins = torch.arange(1.0, 101.0)
    probs = torch.zeros(1, 100)
    probs[0, 29], probs[0, 30], probs[0, 89] = 0.45, 0.25, 0.30  # mostly 30-31, some mass at 90
    median, spread = read_age_distribution(probs, bins, "median")
    mean, spread_mean = read_age_distribution(probs, bins, "mean")
    assert median.item() == 31.0  # where the cumulative probability reaches one half
    assert mean.item() == pytest.approx(0.45 * 30 + 0.25 * 31 + 0.30 * 90)
    assert spread.item() == spread_mean.item() > 20


def test_readout_is_saved_with_the_weights_and_checked(tmp_path):
    model = create_model("resnet50", task="age", age_head="distribution", input_size=32, age_readout="mean")
    save_weights(model, tmp_path / "w.safetensors", {})
    assert load_model(tmp_path / "w.safetensors")[0].config.age_readout == "mean"
    with pytest.raises(ValueError, match="age_readout"):
        create_model("resnet50", age_head="distribution", age_readout="mode")
