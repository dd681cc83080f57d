"""The face record that every importer produces and every later step reads."""

from __future__ import annotations

from dataclasses import dataclass, field

GENDERS = ("male", "female")
"""Gender label names; the index is the class id used by the models (1 = female)."""

RACES = ("white", "black", "asian", "indian", "others")
"""UTKFace race groups, in the dataset's own numbering."""


@dataclass
class FaceRecord:
    """One labelled face image.

    ``path`` is relative to the dataset root given when the images are read, so a
    manifest can be committed without the images. ``age`` is in whole years,
    ``gender`` is ``"female"`` or ``"male"``, ``race`` is one of :data:`RACES` or
    ``""`` when unknown. ``box`` optionally names a face box (x1, y1, x2, y2) in
    pixels for sources whose images are not face crops (IMDB-WIKI).
    """

    path: str
    age: int
    gender: str
    race: str = ""
    source: str = ""
    sha1: str = ""
    split: str = ""
    box: tuple[float, float, float, float] | None = field(default=None)

    @property
    def gender_id(self) -> int:
        return GENDERS.index(self.gender)
