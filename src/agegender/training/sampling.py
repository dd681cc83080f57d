"""Which training faces an epoch draws: a share per dataset and a flattening of crowded age x gender cells.

Two datasets of different sizes, each crowded with women of 20-39, would otherwise let the
largest cells of the largest set dominate every epoch. A face's draw probability is

    share[dataset] x (cell count) ** -balance / (sum of the same over its dataset)

where a cell is a 10-year age bucket x gender within one dataset: ``balance`` 0 draws faces as
the data holds them, 1 makes every cell of a dataset equally likely, 0.5 is between (the
square root, so rare cells are seen more often without repeating their few faces too much).
"""

from __future__ import annotations

import numpy as np

from agegender.errors import UserError

CELL_YEARS = 10


def parse_shares(text: str) -> dict[str, float]:
    """``"utkface=0.6,aaf=0.4"`` -> {"utkface": 0.6, "aaf": 0.4}; raise ValueError naming a bad item."""
    shares: dict[str, float] = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            share = float(value)
        except ValueError:
            raise UserError(f"dataset share {item!r} is not like 'aaf=0.4'") from None
        if share < 0:
            raise UserError(f"dataset share {item!r} is negative")
        shares[name.strip()] = share
    return shares


def draw_probabilities(
    ages: np.ndarray,
    genders: np.ndarray,
    dataset_ids: np.ndarray,
    names: list[str],
    shares: dict[str, float] | None = None,
    balance: float = 0.0,
) -> np.ndarray | None:
    """Probability of each training face per draw, or None when every face is equally likely.

    ``dataset_ids`` index ``names``; ``shares`` maps names to their share of an epoch (missing
    names: in proportion to their size; normalised to sum 1).

    >>> p = draw_probabilities(np.array([20, 21, 60]), np.array([1, 1, 1]), np.array([0, 0, 0]), ["a"], balance=1)
    >>> p.round(2).tolist()
    [0.25, 0.25, 0.5]
    """
    if not shares and balance == 0:
        return None
    unknown = set(shares or {}) - set(names)
    if unknown:
        raise UserError(f"shares name dataset(s) {sorted(unknown)} that are not trained on; datasets: {names}")
    n = len(ages)
    sizes = np.bincount(dataset_ids, minlength=len(names)).astype(float)
    share = sizes / n
    if shares:
        share = np.array([shares.get(name, sizes[k] / n) for k, name in enumerate(names)], float)
        if share.sum() <= 0:
            raise UserError("dataset shares add up to 0")
        share = share / share.sum()
    cells = (dataset_ids.astype(np.int64) * 1000 + np.minimum(ages, 99) // CELL_YEARS * 2 + genders).astype(np.int64)
    _, inverse, counts = np.unique(cells, return_inverse=True, return_counts=True)
    w = counts[inverse].astype(float) ** -balance
    p = np.zeros(n)
    for k in range(len(names)):
        m = dataset_ids == k
        if m.any():
            p[m] = share[k] * w[m] / w[m].sum()
    return p / p.sum()
