"""The names a network's shape is chosen from, importable without PyTorch (for option choices and checks)."""

TASKS = ("age", "gender", "both")
AGE_HEADS = ("regression", "distribution")
BACKBONES = ("vgg16", "resnet50")  # the shipped ones; models.registry may hold more
