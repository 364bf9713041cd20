"""Every refusal of a batch counted by reason, with examples of each reason kept.

Reasons carry the values at fault ("PV 3.2 kWh in 15 min is more than a 4 kWp array ..."), so
two rows refused for the same reason rarely share a text. They are grouped by the reason with
its numbers and quoted values taken out (its *kind*) and the field at fault. Every kind keeps its
first :data:`ALWAYS_KEPT` examples, then examples are kept while the batch holds fewer than
``max_rejections`` and the kind fewer than ``max_per_reason``: a batch of fewer refused rows keeps
them all, and 100,000 empty cells cannot hide the one reading refused for its time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Examples every kind of reason keeps, however many rows the batch refused before it.
ALWAYS_KEPT = 20
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)*(?:e[-+]?\d+)?", re.IGNORECASE)


@dataclass(frozen=True)
class ReasonCount:
    """How many rows a batch refused for one kind of reason: the ``field`` at fault, the first
    ``example`` reason of the kind, and the ``count``."""

    field: str
    example: str
    count: int


def reason_kind(field: str, reason: str) -> str:
    """The key two refusals share when they differ only in their values."""
    return f"{field}|{_NUMBER.sub('#', _QUOTED.sub('…', reason))}"


class RejectionTally:
    """Counts per kind of reason and the choice of examples to keep, across the chunks of a batch."""

    def __init__(self, max_rejections: int = 10_000, max_per_reason: int = 10_000) -> None:
        self.max_rejections = max(int(max_rejections), 0)
        self.max_per_reason = max(int(max_per_reason), 0)
        self.kept = 0
        self._count: dict[str, int] = {}
        self._kept: dict[str, int] = {}
        self._example: dict[str, tuple[str, str]] = {}

    def choose(self, fields: np.ndarray, reasons: np.ndarray) -> np.ndarray:
        """Count refusals (``fields`` and ``reasons``, one per refused row, in row order) and say which
        to keep as examples (a boolean mask)."""
        n = len(reasons)
        keep = np.zeros(n, dtype=bool)
        if n == 0:
            return keep
        pairs = pd.DataFrame({"field": pd.Series(fields, dtype=object).fillna("").astype(str),
                              "reason": pd.Series(reasons, dtype=object).fillna("").astype(str)})
        codes, uniques = pd.factorize(pd.MultiIndex.from_frame(pairs))
        kinds = np.array([reason_kind(f, r) for f, r in uniques], dtype=object)
        kind_codes, kind_names = pd.factorize(kinds[codes])
        rank = pd.Series(kind_codes).groupby(kind_codes).cumcount().to_numpy()
        for code, kind in enumerate(kind_names):
            rows = np.flatnonzero(kind_codes == code)
            if kind not in self._count:
                self._count[kind] = 0
                self._kept[kind] = 0
                self._example[kind] = (pairs["field"].iat[rows[0]], pairs["reason"].iat[rows[0]])
            self._count[kind] += len(rows)
            already = self._kept[kind]
            always = rank[rows] + already < ALWAYS_KEPT
            room = max(self.max_rejections - self.kept, 0)
            within = (rank[rows] + already < self.max_per_reason) & (np.cumsum(~always) <= room)
            chosen = always | within
            keep[rows[chosen]] = True
            self._kept[kind] += int(chosen.sum())
            self.kept += int(chosen.sum())
        return keep

    def by_reason(self) -> list[ReasonCount]:
        """Kinds of reason, most frequent first."""
        rows = [ReasonCount(self._example[k][0], self._example[k][1], c) for k, c in self._count.items()]
        return sorted(rows, key=lambda r: (-r.count, r.field, r.example))
