"""Where ``predict``'s rows go: a table for reading, CSV, JSON or JSON lines, to stdout or a file written safely."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
from pathlib import Path

from agegender.errors import UserError
from agegender.results import CSV_COLUMNS
from agegender.video.rows import VIDEO_CSV_COLUMNS, VIDEO_TABLE_COLUMNS

TABLE_COLUMNS = ["path", "face", "model", "age", "gender", "p_female", "det_score", "x1", "y1", "x2", "y2"]


def _table(rows, cols) -> str:
    data = [[str(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(d[i]) for d in data)) if data else len(c) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(d, widths)) for d in data]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def output_file(path: str | None):
    """The stream that ``-o PATH`` is written through (stdout without one).

    A regular file is written as ``.NAME.PID.part`` beside it and renamed to NAME when the run ends
    (finished, or interrupted with Ctrl-C: every row written is kept), so NAME is never half written nor
    a mix of two runs writing it at once: the last run to end wins whole. A run that fails leaves NAME as
    it was. Special files (/dev/stdout, a FIFO) are written directly. A write to the stream that fails
    (a full disk) removes the partial file and is one line: UserError.
    """
    if not path:
        yield sys.stdout
        return
    target = Path(path)
    direct = target.exists() and not target.is_file()
    part = target if direct else target.with_name(f".{target.name}.{os.getpid()}.part")
    stream = open(part, "w", newline="")
    keep = False
    try:
        try:
            yield stream
            keep = True
        except KeyboardInterrupt:
            keep = True
            raise
        finally:
            stream.close()  # a full disk may show only here, when the last rows are flushed
    except OSError as exc:
        keep = False
        if exc.filename is not None:  # not this stream's write (e.g. an annotated image's folder): said as it is
            raise
        raise UserError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        if not direct:  # a failed run leaves the file it would have replaced as it was
            if keep:
                os.replace(part, target)
            else:
                part.unlink(missing_ok=True)


class RowWriter:
    """Writes results as they come: CSV rows, JSON Lines (one object per image and line, readable while
    the run goes on), or a JSON array element by element; the table at the end (its columns are as
    wide as their widest value)."""

    def __init__(self, out, fmt: str, video: bool = False):
        self.out, self.fmt, self.count = out, fmt, 0
        self.rows: list[dict] = []
        self.table_columns = VIDEO_TABLE_COLUMNS if video else TABLE_COLUMNS
        if fmt == "csv":
            # RFC 4180's line ends: a file name holding a carriage return is then quoted, not a broken row
            self.csv = csv.DictWriter(
                out, fieldnames=VIDEO_CSV_COLUMNS if video else CSV_COLUMNS, lineterminator="\r\n"
            )
            self.csv.writeheader()
        elif fmt == "json":
            out.write("[")

    def add(self, rows: list[dict], result: dict) -> None:
        if self.fmt == "csv":
            self.csv.writerows(rows)
        elif self.fmt == "json":
            self.out.write(("," if self.count else "") + "\n" + json.dumps(result))
        elif self.fmt == "jsonl":
            self.out.write(json.dumps(result) + "\n")
        else:
            self.rows += rows
        self.count += 1
        self.out.flush()

    def close(self) -> None:
        if self.fmt == "json":
            self.out.write("\n]\n")
        elif self.fmt == "table":
            self.out.write(_table(self.rows, self.table_columns))
        self.out.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        """Close the rows: an interrupted run keeps the rows written, and a JSON array stays valid."""
        if exc[0] is None or not issubclass(exc[0], OSError):  # a failed write: nothing more can be written
            self.close()
