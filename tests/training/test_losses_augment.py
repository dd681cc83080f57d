import pytest
import torch

from agegender.models.networks import ModelConfig
from agegender.preprocess import to_float_images
from agegender.training.augment import augment
from agegender.training.checkpoint import load_checkpoint, save_checkpoint
from agegender.training.losses import age_loss, gaussian_label_distribution, gender_loss


def test_age_losses_golden_values():
    cfg = ModelConfig(age_mean=34, age_scale=16)
    out = {"age_raw": torch.tensor([0.0, 1.0])}  # predicts 34 and 50 years
    ages = torch.tensor([34.0, 34.0])  # targets 0 and 0 in normalised units
    assert age_loss(out, ages, cfg, "mse").item() == pytest.approx(0.5)
    assert age_loss(out, ages, cfg, "l1").item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="dldl"):
        age_loss(out, ages, cfg, "dldl")


def test_label_distribution_sums_to_one_and_peaks_at_the_age():
    d = gaussian_label_distribution(torch.tensor([20.0, 45.5]), torch.arange(18.0, 51.0), 2.0)
    assert torch.allclose(d.sum(1), torch.ones(2))
    assert d[0].argmax().item() == 2


def test_gender_losses_golden_values():
    logits = torch.tensor([[0.0, 0.0]])
    assert gender_loss(logits, torch.tensor([1]), "ce").item() == pytest.approx(0.6931, abs=1e-4)
    assert gender_loss(logits, torch.tensor([1]), "mse").item() == pytest.approx(0.25)
    with pytest.raises(ValueError, match="unknown gender loss"):
        gender_loss(logits, torch.tensor([1]), "hinge")


def test_gender_loss_weights_scale_each_face_and_weight_one_changes_nothing():
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.0]])
    genders = torch.tensor([1, 0])
    for kind in ("ce", "mse"):
        plain = gender_loss(logits, genders, kind)
        assert gender_loss(logits, genders, kind, weights=torch.ones(2)).item() == pytest.approx(plain.item())
        per_face = [gender_loss(logits[i : i + 1], genders[i : i + 1], kind).item() for i in range(2)]
        weighted = gender_loss(logits, genders, kind, weights=torch.tensor([3.0, 1.0])).item()
        assert weighted == pytest.approx((3 * per_face[0] + per_face[1]) / 2)


def test_augment_keeps_shape_and_range_and_strength_zero_is_identity():
    x = to_float_images(torch.randint(0, 256, (8, 32, 32, 3), dtype=torch.uint8))
    assert x.shape == (8, 3, 32, 32) and x.max() <= 1
    y = augment(x, 1.0, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1 and not torch.equal(x, y)
    assert torch.equal(augment(x, 0.0), x)


def test_checkpoint_is_atomic_and_loads_weights_only(tmp_path):
    save_checkpoint({"epoch": 3, "w": torch.ones(2)}, tmp_path / "last.pt")
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_background_augmentation_shows_other_content_at_the_borders_only_when_asked():
    # A flat grey face: a mirrored border is grey too, a new background is not.
    x = torch.full((64, 3, 32, 32), 0.5)
    plain = augment(x, 1.0, torch.Generator().manual_seed(0), background=0.0)
    framed = augment(x, 1.0, torch.Generator().manual_seed(0), background=1.0)
    border = torch.zeros(32, 32, dtype=torch.bool)
    border[:2], border[-2:], border[:, :2], border[:, -2:] = True, True, True, True

    def off_grey(y):  # per image: how far its border strays from a brightness/contrast-jittered flat grey
        b = y[:, :, border]
        return (b - b.median(dim=2, keepdim=True).values).abs().amax(dim=(1, 2))

    assert off_grey(plain).max() < 1e-3  # reflection padding keeps a flat image flat
    assert (off_grey(framed) > 0.05).float().mean() > 0.5  # most framed faces show something else
    assert framed.min() >= 0 and framed.max() <= 1


def test_photo_degradations_apply_each_to_about_its_share_and_stay_in_range():
    from agegender.training.augment import photo_degrade

    torch.manual_seed(0)
    # Faces with fine detail (a checkerboard) in colour: blur, low resolution and JPEG smooth it,
    # greyscale removes the colour, the patch flattens part of it.
    check = ((torch.arange(32)[:, None] + torch.arange(32)[None]) % 2).float()
    x = torch.stack([check * 0.6 + 0.2, check * 0.3 + 0.1, 1 - check * 0.5]).expand(400, 3, 32, 32).contiguous()
    none = photo_degrade(x, 0.0, torch.Generator().manual_seed(0))
    assert torch.equal(none, x)
    out = photo_degrade(x, 0.2, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    changed = (out - x).abs().amax(dim=(1, 2, 3)) > 0.02
    # 5 degradations at 20% each: 1 - 0.8**5 = 67% of faces get at least one.
    assert 0.57 < changed.float().mean() < 0.77
    grey = (out[:, 0] - out[:, 1]).abs().amax(dim=(1, 2)) < 1e-6
    assert 0.12 < grey.float().mean() < 0.28
    # Off by default in augment: a run without it keeps its random stream (same output as before).
    a = augment(x, 1.0, torch.Generator().manual_seed(1))
    b = augment(x, 1.0, torch.Generator().manual_seed(1), photo=0.0)
    assert torch.equal(a, b)


def test_every_training_option_explains_itself_in_help():
    import argparse

    from agegender.cli import build_parser
    from agegender.training.config import TrainConfig

    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help for a in subparsers.choices["train"]._actions}
    for name in TrainConfig.field_names():
        assert len(helps[name].split("(default")[0].strip()) > 5, f"--{name.replace('_', '-')} has no help text"
