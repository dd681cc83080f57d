"""The datasets this project knows: their display names, what they hold and their licence, their committed
manifests, and the importers that turn a dataset as distributed into a manifest with a split."""

from __future__ import annotations

from pathlib import Path

from agegender.errors import UserError

DATASETS = {
    "utkface": (
        "UTKFace",
        "aligned and cropped faces of all ethnicities, ages 1-116, labels from the file names; "
        "released for non-commercial research only",
    ),
    "aaf": (
        "All-Age-Faces",
        "head-and-shoulders photos, mostly East Asian, ages 2-80, found and aligned by the "
        "analyzer's own detector; no licence stated, the authors ask for citation: research use only",
    ),
}
MANIFESTS = {"utkface": "data/utkface_manifest.csv", "aaf": "data/aaf_manifest.csv"}


def dataset_name(key: str) -> str:
    """The display name of a dataset key ("aaf" -> "All-Age-Faces")."""
    return DATASETS.get(key, (key, ""))[0]


IMPORT_FORMATS = ("utkface", "aaf", "imdbwiki", "csv", "folder")


def import_dataset(
    fmt: str,
    source,
    out,
    zero_is: str = "male",
    keep_multi_face: bool = False,
    min_age: int | None = None,
    max_age: int | None = None,
    seed: int = 0,
) -> dict:
    """Import a dataset (``fmt``: one of IMPORT_FORMATS) from ``source`` into the manifest ``out``: labels read,
    ages filtered, files hashed and deduplicated, the split assigned (stratified, ``seed``); what was left
    out is listed in ``out`` with ``.skipped.log``. Returns counts: read, written, skipped, splits, log."""
    from agegender.data import manifest as mf

    src = Path(source)
    if fmt == "utkface":
        from agegender.data.utkface import import_utkface

        records, bad = import_utkface(src)
        root = src
    elif fmt == "aaf":
        from agegender.data.aaf import import_aaf

        records, bad = import_aaf(src)
        root = src / "images"
    elif fmt == "imdbwiki":
        from agegender.data.imdbwiki import import_imdbwiki

        records, reasons = import_imdbwiki(src, drop_multiple_faces=not keep_multi_face)
        bad = [(f"{n} rows", reason) for reason, n in reasons.items()]
        root = src.parent
    elif fmt == "csv":
        from agegender.data.generic import import_csv

        records, bad = import_csv(src, zero_is)
        root = src.parent
    elif fmt == "folder":
        from agegender.data.generic import import_folder

        records, bad = import_folder(src)
        root = src
    else:
        raise UserError(f"unknown dataset format {fmt!r}; one of {', '.join(IMPORT_FORMATS)}")
    n_read = len(records)
    if min_age is not None or max_age is not None:
        window = mf.AgeWindow(min_age if min_age is not None else 0, max_age if max_age is not None else 200)
        records = mf.select(records, window=window)
    records, dropped = mf.hash_and_deduplicate(records, root)
    bad += dropped
    if not records:
        raise UserError(f"no usable faces in {src} ({len(bad)} entries skipped)")
    mf.assign_splits(records, seed=seed)
    mf.write_manifest(records, out)
    log_path = Path(out).with_suffix(".skipped.log")
    log_path.write_text("".join(f"{name}\t{reason}\n" for name, reason in bad))
    return {
        "read": n_read,
        "written": len(records),
        "skipped": len(bad),
        "log": log_path,
        "splits": {s: sum(r.split == s for r in records) for s in mf.SPLITS},
    }
