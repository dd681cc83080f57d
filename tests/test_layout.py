"""The package's floors (README, Layout): a module imports only from its own floor or below."""

import ast
from pathlib import Path

import agegender

FLOORS = {
    **dict.fromkeys(("errors", "runtime", "preprocess", "metrics"), 0),
    "data": 1,
    "models": 2,
    "faces": 2,
    "training": 3,
    "annotate": 3,
    "results": 3,
    "evaluation": 4,
    "video": 4,
    "inference": 5,
    "ray_predict": 6,
    "cli": 7,
    "server": 7,
}
"""Each top-level module or folder of the package and its floor; the package root (its lazy
``agegender.FaceAnalyzer``) and ``__main__`` are the front door, above every floor."""


def _part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def test_no_module_imports_from_a_floor_above_its_own():
    root = Path(agegender.__file__).parent
    up = []
    for path in root.rglob("*.py"):
        part = path.relative_to(root).parts[0].removesuffix(".py")
        if part in ("__init__", "__main__"):
            continue
        assert part in FLOORS, f"{part} has no floor: add it to FLOORS and to the README's Layout"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("agegender."):
                target = _part(node.module)
                if target != part and FLOORS[target] > FLOORS[part]:
                    up.append(f"{path.relative_to(root)} imports {node.module}")
    assert not up, "imports from a floor above: " + "; ".join(up)
