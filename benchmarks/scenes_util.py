"""Test scenes for the benchmarks: real UTKFace test faces pasted into a background."""

from __future__ import annotations

from pathlib import Path

from agegender.evaluation.scenes import background, centre_of, paste  # noqa: F401


def test_faces(manifest: str, root: str, n: int, every: int = 1):
    """Up to n UTKFace test-split crops (RGB arrays) with their records."""
    from agegender.data.images import read_image
    from agegender.data.manifest import read_manifest

    recs = [r for r in read_manifest(manifest) if r.split == "test"][::every][:n]
    return [(read_image(Path(root) / r.path), r) for r in recs]
