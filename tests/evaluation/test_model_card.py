"""The model card names every run that made a fine-tuned weight file."""

from agegender.evaluation.model_card import recipe_and_epochs


def test_a_model_trained_once_shows_its_recipe_and_epochs():
    e = {"recipe": "long", "val_at_training": {"epoch": 16}}
    assert recipe_and_epochs(e) == ("`long`", "16")


def test_a_twice_fine_tuned_model_lists_each_recipe_with_earlier_epochs_first():
    e = {"recipe": "ft-child", "val_at_training": {"epoch": 5},
         "fine_tuned_from": {"recipe": "long + ft", "epochs": 21}}
    assert recipe_and_epochs(e) == ("`long` + `ft` + `ft-child`", "21 + 5")
