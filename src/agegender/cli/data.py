"""``agegender data``: import a dataset into a manifest; build, pack and unpack face caches."""

from __future__ import annotations

import sys

from agegender.data.datasets import IMPORT_FORMATS
from agegender.errors import UserError


def add_data(sub):
    p = sub.add_parser("data", help="import datasets into a manifest; build the face cache")
    dsub = p.add_subparsers(dest="data_cmd", required=True)
    imp = dsub.add_parser("import", help="import a dataset into a manifest CSV (with content hashes and a split)")
    imp.add_argument("format", choices=IMPORT_FORMATS, help="the dataset's layout")
    imp.add_argument(
        "source",
        help="UTKFace folder, All-Age-Faces folder (labels.csv + images/), imdb.mat/wiki.mat, "
        "CSV file, or <gender>/<age>/ folder tree",
    )
    imp.add_argument("-o", "--out", required=True, help="manifest CSV to write")
    imp.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    imp.add_argument("--min-age", type=int, default=None, help="keep only ages >= this (default: all ages)")
    imp.add_argument("--max-age", type=int, default=None, help="keep only ages <= this (default: all ages)")
    imp.add_argument(
        "--zero-is",
        choices=["male", "female"],
        default="male",
        help="CSV only: what gender 0 means when genders are 0/1 (default male, as UTKFace)",
    )
    imp.add_argument("--keep-multi-face", action="store_true", help="IMDB-WIKI: keep photos with a second face")
    c = dsub.add_parser("cache", help="decode every face once into a packed, memory-mappable cache")
    c.add_argument("manifest", help="manifest CSV (agegender data import), e.g. data/utkface_manifest.csv")
    c.add_argument("--root", required=True, help="folder the manifest's paths are relative to")
    c.add_argument("-o", "--out", required=True, help="cache folder")
    c.add_argument("--size", type=int, default=64, help="face size in pixels (default 64)")
    c.add_argument("--margin", type=float, default=0.4, help="margin around face boxes (IMDB-WIKI), fraction")
    c.add_argument(
        "--detect",
        action="store_true",
        help="photos (e.g. All-Age-Faces): find the one face with the analyzer's detector and align it "
        "as inference does; photos with no face or several are skipped and listed",
    )
    c.add_argument(
        "--detect-pad",
        type=float,
        default=0.0,
        help="with --detect: pad each image by this share of its side (edges repeated) before "
        "detection, for tight face crops such as UTKFace's (default 0)",
    )
    pk = dsub.add_parser("pack", help="store a cache as one small file of JPEGs (to carry to another machine)")
    pk.add_argument("cache", help="cache folder (agegender data cache)")
    pk.add_argument("-o", "--out", required=True, help="pack file (.npz)")
    pk.add_argument("--quality", type=int, default=85, help="JPEG quality (default 85)")
    pk.add_argument("--splits", default="train,val,test", help="splits to keep, comma-separated")
    up = dsub.add_parser("unpack", help="decode a pack back into a cache folder")
    up.add_argument("pack", help="pack file (agegender data pack)")
    up.add_argument("-o", "--out", required=True, help="cache folder")
    return p


def run_data(args) -> int:
    from agegender.data import manifest as mf

    if args.data_cmd == "import":
        from agegender.data.datasets import import_dataset

        summary = import_dataset(
            args.format,
            args.source,
            args.out,
            zero_is=args.zero_is,
            keep_multi_face=args.keep_multi_face,
            min_age=args.min_age,
            max_age=args.max_age,
            seed=args.seed,
        )
        counts = summary["splits"]
        print(
            f"read {summary['read']} labelled faces, wrote {summary['written']} to {args.out} "
            f"(train {counts['train']}, val {counts['val']}, test {counts['test']}); "
            f"{summary['skipped']} skipped, listed in {summary['log']}"
        )
        return 0
    if args.data_cmd in ("pack", "unpack"):
        from agegender.data.pack import pack_cache, unpack_cache

        if args.data_cmd == "pack":
            info = pack_cache(args.cache, args.out, args.quality, args.splits.split(","))
            print(f"pack {args.out}: {info['faces']} faces at {info['size']}px, {info['bytes'] / 2**20:.1f} MiB")
        else:
            info = unpack_cache(args.pack, args.out)
            print(f"cache {args.out}: {info['faces']} faces at {info['size']}px")
        return 0
    from agegender.data.cache import build_cache

    records = mf.read_manifest(args.manifest)
    aligner = None
    if args.detect:
        from agegender.faces.photo_crops import PhotoAligner

        aligner = PhotoAligner(pad=args.detect_pad)
    summary = build_cache(records, args.root, args.out, size=args.size, margin=args.margin, aligner=aligner)
    if summary["faces"] == 0:
        raise UserError(f"no face could be read from {args.root}; check --root")
    for path, reason in summary["skipped"]:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(
        f"cache {args.out}: {summary['faces']} faces at {args.size}px, {summary['bytes'] / 1e6:.1f} MB, "
        f"{len(summary['skipped'])} skipped, "
        + ("reused (same manifest and settings)" if summary["reused"] else f"built in {summary['seconds']:.1f} s")
    )
    return 0
