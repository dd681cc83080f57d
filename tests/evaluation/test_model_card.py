"""The model card names every run that made a fine-tuned weight file."""

from agegender.evaluation.model_card import describe_average, recipe_and_epochs


def test_a_model_trained_once_shows_its_recipe_and_epochs():
    e = {"recipe": "long", "val_at_training": {"epoch": 16}}
    assert recipe_and_epochs(e) == ("`long`", "16")


def test_a_twice_fine_tuned_model_lists_each_recipe_with_earlier_epochs_first():
    e = {
        "recipe": "ft-child",
        "val_at_training": {"epoch": 5},
        "fine_tuned_from": {"recipe": "long + ft", "epochs": 21},
    }
    assert recipe_and_epochs(e) == ("`long` + `ft` + `ft-child`", "21 + 5")


def _evaluation(arch, dataset, mae, acc, child_acc, cell_error):
    rows = [{"age_window": w, "n": 100, "age_mae": mae, "age_cs5": 0.7, "gender_acc": acc} for w in ("18-50", "all")]
    detail = {
        "n": 100,
        "baseline": {"age_guess": 29, "age_mae": 6.3, "age_cs5": 0.5, "gender_guess": "male", "gender_acc": 0.5},
        "gender": {"roc_auc": 0.99, "ece": 0.01},
        "gender_by_bucket": {"0-12": {"n": 40, "accuracy": child_acc}},
        "cells": {
            "female 45-54": {"n": 40, "age_mae": 6.0, "mean_signed_error": cell_error, "gender_acc": acc},
            "male 25-34": {"n": 40, "age_mae": 3.0, "mean_signed_error": 0.5, "gender_acc": acc},
        },
    }
    return {
        "name": f"{arch}-{dataset}",
        "model": {
            "arch": arch,
            "task": "both",
            "age_head": "distribution",
            "age_min": 1,
            "age_max": 116,
            "input_size": 64,
        },
        "recipe": "mix",
        "dataset": dataset,
        "trained_on": ["utkface", "aaf"],
        "rows": rows,
        "details": {"18-50": detail, "all": detail},
    }


def test_a_weight_average_names_its_start_and_each_run_with_what_set_it_apart():
    run = {"recipe": "mix", "sha256": "b" * 64, "train": {"epochs": 3, "augment_photo": 0.2, "seed": 1, "lr": 2e-4}}
    teacher_run = {**run, "train": {"epochs": 3, "teacher": "runs/photo/vgg16.cal.safetensors", "seed": 0}}
    members = [
        {"file": "vgg16.safetensors", "sha256": "a" * 64, "recipe": "mix", "role": "start", "train": {"epochs": 8}},
        {"file": "soup.safetensors", "sha256": "c" * 64, "recipe": "mix", "soup_of": [run, teacher_run]},
    ]
    e = {"recipe": "mix", "soup_of": members, "fine_tuned_from": {"recipe": "long + ft", "epochs": 35}}
    assert recipe_and_epochs(e) == ("`long` + `ft` + weight average", "35 + see below")
    text = describe_average(members)
    assert text.startswith("the weights the runs started from (`vgg16.safetensors`, sha256 aaaaaaaaaaaa)")
    assert "the mean of (`mix` 3 epochs (augment_photo 0.2, seed 1, lr 0.0002; sha256 bbbbbbbbbbbb)" in text
    assert "teacher vgg16.cal.safetensors" in text and "8 epochs" not in text


def test_card_judges_every_test_set_and_names_both_datasets_and_licences(tmp_path):
    import json

    from agegender.evaluation.model_card import write_model_card

    files = []
    for e in (
        _evaluation("vgg16", "utkface", 4.2, 0.98, 0.82, -1.0),
        _evaluation("vgg16", "aaf", 4.9, 0.976, 0.85, -3.0),
        _evaluation("resnet50", "utkface", 4.4, 0.97, 0.78, 1.0),
        _evaluation("resnet50", "aaf", 5.6, 0.96, 0.8, 2.0),
    ):
        files.append(tmp_path / f"{e['name']}.json")
        files[-1].write_text(json.dumps(e))
    card = write_model_card(files, tmp_path / "card.md").read_text()
    assert "| All-Age-Faces age MAE, ages 18-50 ≤ 5.00 | 4.90 ✓ | 5.60 ✗ |" in card
    assert (
        "| All-Age-Faces largest signed age error of a gender x age cell 18-64, within ±2.5 years | "
        "female 45-54: -3.0 ✗ | female 45-54: +2.0 ✓ |" in card
    )
    assert "| UTKFace gender accuracy, children 0-12 ≥ 80.0% | 82.0% ✓ | 78.0% ✗ |" in card
    assert "All-Age-Faces age MAE 18-50: +0.70 years ✗" in card  # resnet50 against the best (vgg16)
    assert "trained on UTKFace and All-Age-Faces" in card and "citation" in card
