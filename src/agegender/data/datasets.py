"""The datasets this project knows by key: display name, what they hold, their licence, their committed manifest."""

from __future__ import annotations

DATASETS = {
    "utkface": ("UTKFace", "aligned and cropped faces of all ethnicities, ages 1-116, labels from the file names; "
                "released for non-commercial research only"),
    "aaf": ("All-Age-Faces", "head-and-shoulders photos, mostly East Asian, ages 2-80, found and aligned by the "
            "analyzer's own detector; no licence stated, the authors ask for citation: research use only"),
}
MANIFESTS = {"utkface": "data/utkface_manifest.csv", "aaf": "data/aaf_manifest.csv"}


def dataset_name(key: str) -> str:
    """The display name of a dataset key ("aaf" -> "All-Age-Faces")."""
    return DATASETS.get(key, (key, ""))[0]
