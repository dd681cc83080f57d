"""Named recipes: listed, shown as defaults by --help, overridden by flags, validated before any data is read."""

import pytest

from agegender.cli import build_parser, main
from agegender.errors import UserError
from agegender.training.config import TrainConfig
from agegender.training.recipes import RECIPES, get_recipe


def _train_args(argv):
    return build_parser(argv).parse_args(argv)


def test_every_recipe_resolves_to_a_valid_config_for_both_architectures(tmp_path):
    cache = tmp_path / "c"
    cache.mkdir()
    (cache / "labels.json").write_text("{}")
    for recipe in RECIPES.values():
        for arch in ("resnet50", "vgg16"):
            values = recipe.resolve(arch)
            cfg = TrainConfig(**{**TrainConfig().to_dict(), **values, "cache": str(cache)})
            cfg.validate()  # shipped init/teacher weights exist in the package
            assert cfg.recipe == recipe.name


def test_a_recipe_sets_defaults_and_flags_override_them(tmp_path):
    args = _train_args(["train", "--recipe", "multitask-dldl-64-cpu-mix", "--arch", "vgg16", "--cache", "c"])
    assert (args.lr, args.epochs, args.epoch_size, args.dataset_shares) == (2e-4, 6, 12000, "utkface=0.5,aaf=0.5")
    assert args.init_weights.endswith("vgg16.safetensors")
    args = _train_args(
        [
            "train",
            "--recipe",
            "multitask-dldl-64-cpu-mix",
            "--arch",
            "resnet50",
            "--cache",
            "c",
            "--epochs",
            "3",
            "--no-resume",
        ]
    )
    assert (args.lr, args.epochs) == (5e-4, 3)
    args = _train_args(["train", "--recipe", "reference-mse-64", "--arch", "vgg16", "--task", "gender", "--cache", "c"])
    assert (args.task, args.epochs, args.gender_loss) == ("gender", 4, "mse")


def test_help_and_list_show_the_recipes(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--recipe", "multitask-dldl-64-cpu-long", "--arch", "vgg16", "--help"])
    assert "default 16; from recipe multitask-dldl-64-cpu-long" in " ".join(capsys.readouterr().out.split())
    with pytest.raises(SystemExit):
        main(["train", "--list-recipes"])
    listed = capsys.readouterr().out
    assert all(name in listed for name in RECIPES)


def test_bad_options_fail_before_any_data_is_read(tmp_path, capsys):
    assert main(["train", "--recipe", "multitask-dldl-64-cpu-mixx"]) == 2
    assert "did you mean 'multitask-dldl-64-cpu-mix'" in capsys.readouterr().err
    assert (
        main(
            [
                "train",
                "--cache",
                str(tmp_path / "none"),
                "--lr",
                "-1",
                "--age-loss",
                "dldl",
                "--teacher",
                str(tmp_path / "t.safetensors"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "not a face cache" in err and "--lr must be positive" in err and "needs --age-head distribution" in err
    assert "t.safetensors: file not found" in err
    with pytest.raises(UserError, match="unknown recipe"):
        get_recipe("nope")
