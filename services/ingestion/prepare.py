"""One chunk of a batch, from the readings as given to rows ready to stage, without a loop per row.

Each check looks at whole columns and marks the rows it refuses; a row refused by several
checks is reported once, for the first of them in the order a person would fix them
(household, quantity, series, value, time, unit, plausibility, series conflicts).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from services.ingestion.cells import screen_cells
from services.ingestion.frames import complete_frame
from services.ingestion.rejections import RejectionTally
from services.ingestion.series import HouseholdFacts, SeriesResolver
from services.ingestion.timestamps import parse_timestamps
from services.ingestion.types import IngestOptions, Rejection
from services.ingestion.units import POWER_KW, canonical_unit, convert
from services.ingestion.validate import ASSUMED_STEP_S, check_values, parse_values
from services.store.models.readings import ENERGY_QUANTITIES, QUANTITY_UNITS

#: Suffix of the companion series that keeps a cumulative meter's raw register [kWh].
REGISTER_SUFFIX = "/register"
_NAME_MAX = 120 - len(REGISTER_SUFFIX)


@dataclass
class Prepared:
    """Rows of a chunk ready to stage (``series_id``, ``ts_s`` UTC seconds, ``value`` in the stored
    unit; unique per (series, ts)), cumulative register readings for the end of the batch, and
    what was refused."""

    series_id: np.ndarray
    ts_s: np.ndarray
    value: np.ndarray
    received: int
    rejected: int
    duplicates: int
    rejections: list[Rejection] = field(default_factory=list)
    registers: pd.DataFrame | None = None


class _Problems:
    """Refusals of a chunk, first check wins."""

    def __init__(self, n: int) -> None:
        self.bad = np.zeros(n, dtype=bool)
        self.field = np.empty(n, dtype=object)
        self.reason = np.empty(n, dtype=object)

    def add(self, mask: np.ndarray, field_name: str, reasons) -> None:
        """``reasons``: one per True of ``mask`` (in order), or one string for all."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        fresh = mask & ~self.bad
        if isinstance(reasons, str):
            self.reason[fresh] = reasons
        else:
            reasons = np.asarray(reasons, dtype=object)
            self.reason[fresh] = reasons[fresh[mask]]
        self.field[fresh] = field_name
        self.bad |= fresh


def prepare_chunk(frame: pd.DataFrame, *, first_line: int, facts: dict[int, HouseholdFacts],
                  resolver: SeriesResolver, options: IngestOptions, keep_rejections: int | None = None,
                  tally: RejectionTally | None = None) -> Prepared:
    """Validate and convert one chunk; create its new series through ``resolver``.

    ``facts`` must hold every existing household among the chunk's ids (missing ones are refused).
    :class:`Rejection` objects are built for the examples ``tally`` chooses (it counts every
    refusal by reason), or without a tally for the first ``keep_rejections``; ``rejected`` is exact.
    """
    f = complete_frame(frame, first_line)
    n = len(f)
    problems = _Problems(n)
    screened = screen_cells(f)
    if screened.bad.any():
        problems.add(screened.bad, "", screened.reason[screened.bad])
        problems.field[screened.bad] = screened.field[screened.bad]
        f = screened.frame

    given = f["problem"].notna().to_numpy()
    if given.any():
        problems.add(given, "", f["problem"].to_numpy(dtype=object)[given])
        problems.field[given] = f["problem_field"].fillna("").to_numpy(dtype=object)[given]

    household = pd.to_numeric(f["household_id"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    household = np.where(np.abs(household) < 2.0 ** 31, household, np.nan)  # beyond any id the store has
    whole = np.isfinite(household) & (household == np.round(household))
    household_id = np.where(whole, household, -1).astype(np.int64)
    exists = np.isin(household_id, np.fromiter(facts, dtype=np.int64, count=len(facts)))
    problems.add(~whole, "household_id", "the household id must be a whole number")
    problems.add(~exists, "household_id", [f"household {h} does not exist: create it first, or check the id"
                                           for h in household_id[~exists]])

    # Text columns have few distinct values: work on those, and map back through integer codes.
    quantity = labels_of(f["quantity"])
    known = np.array([q in QUANTITY_UNITS for q in quantity.names] + [False])
    bad_quantity = ~known[quantity.codes]
    problems.add(bad_quantity, "quantity", [f"unknown quantity {q!r}: use one of {', '.join(QUANTITY_UNITS)}"
                                            for q in quantity.take(bad_quantity)])

    name = labels_of(f["series"])
    lengths = np.array([len(x) for x in name.names] + [0])[name.codes]
    problems.add(lengths == 0, "series", "the series name is empty")
    problems.add(lengths > _NAME_MAX, "series", f"the series name is longer than {_NAME_MAX} characters")

    raw_value, bad_value, value_reasons = parse_values(f["value"])
    problems.add(bad_value, "value", value_reasons)
    facts_of = {h: facts[h] for h in np.unique(household_id).tolist() if h in facts}
    per_household = _per_row(household_id, facts_of)
    scale = f["scale"]
    if not (pd.api.types.is_float_dtype(scale.dtype) and (scale.to_numpy() == 1.0).all()):
        raw_value = raw_value * pd.to_numeric(scale, errors="coerce").fillna(1.0).to_numpy(dtype=np.float64)
    per_kwp = _flags(f["per_kwp"])
    if per_kwp.any():
        raw_value = np.where(per_kwp, raw_value * per_household["pv_kwp"], raw_value)
        problems.add(per_kwp & ~np.isfinite(per_household["pv_kwp"]), "value",
                     "the mapping gives this column per kWp of PV, but the household has no PV system: "
                     "add its PV system (peak power) first")

    zones = options.timezone or pd.Series(household_id).map(
        {h: v.timezone for h, v in facts_of.items()}).astype(object)
    times = parse_timestamps(f["ts"], zones, nonexistent=options.nonexistent, ambiguous=options.ambiguous,
                             fmt=options.ts_format,
                             now_s=None if options.now is None else int(options.now.timestamp()))
    problems.add(times.bad, "ts", times.reasons)
    ts_s = times.seconds

    cumulative = _flags(f["cumulative"])
    interval_s = pd.to_numeric(f["interval_s"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if options.interval_s:
        interval_s = np.where(np.isfinite(interval_s), interval_s, float(options.interval_s))
    unit = labels_of(f["unit"])
    converted = convert(raw_value, quantity.codes, quantity.names, unit.codes, unit.names, interval_s,
                        per_household["capacity_kwh"])
    problems.add(converted.bad, "unit", converted.reasons)
    if cumulative.any():
        power_unit = np.array([canonical_unit(u) in POWER_KW for u in unit.names] + [False])[unit.codes]
        problems.add(cumulative & power_unit, "unit", "a meter register counts energy: give it in Wh, kWh or MWh")
        energy = np.array([q in ENERGY_QUANTITIES for q in quantity.names] + [False])[quantity.codes]
        problems.add(cumulative & ~energy, "cumulative",
                     "only energy quantities (load, pv, grid_import ...) can come as cumulative meter registers")

    # A series is (household, name): pack both codes into one integer key.
    width = len(name.names) + 1  # the last slot stands for a missing name
    key_codes, key_values = pd.factorize(household_id * width + np.where(name.codes < 0, width - 1, name.codes))
    names_or_empty = name.names + [""]
    keys = [(int(v) // width, names_or_empty[int(v) % width]) for v in key_values]
    step = _steps(key_codes, ts_s, ~problems.bad, len(keys))
    resolver.lookup([k for k, s in zip(keys, step) if not np.isfinite(s)])
    known_step = np.array([_known_resolution(resolver, h, s) for h, s in keys], dtype=np.float64)
    step = np.where(np.isfinite(step), step, known_step)
    check_step, assumed = _check_steps(step, keys, key_codes, ts_s, ~problems.bad, resolver)
    row_step = np.where(np.isfinite(interval_s), interval_s, check_step[key_codes])
    assumed_row = assumed[key_codes] & ~np.isfinite(interval_s)
    value = converted.values
    plain = ~cumulative
    # Registers are checked for sign here; the energy derived from them is checked as intervals are
    # (services.ingestion.batch), once the readings around them are known.
    checked_quantity = quantity.categorical(where=plain, otherwise="other")
    checked = check_values(np.where(plain, value, 0.0), checked_quantity,
                           converted.stored_units, row_step, per_household["pv_kwp"], per_household["charge_kw"],
                           per_household["discharge_kw"], per_household["capacity_kwh"], options.max_value,
                           start_s=ts_s, latitude=per_household["latitude"], longitude=per_household["longitude"],
                           import_kw=per_household["import_kw"], export_kw=per_household["export_kw"])
    reasons = np.asarray(checked.reasons, dtype=object)
    if assumed_row[checked.bad].any():
        guessed = assumed_row[checked.bad]
        reasons[guessed] = [r + f" (the interval of this reading is not known, so {ASSUMED_STEP_S // 60} min "
                            "was assumed: give its interval_s)" for r in reasons[guessed]]
    problems.add(checked.bad, "value", reasons)
    if cumulative.any():
        problems.add(cumulative & (value < 0), "value", "a meter register cannot be negative")

    _check_cumulative(problems, keys, key_codes, cumulative)
    device_id = _check_devices(problems, resolver, f["device_id"], household_id)
    series_id = _resolve_series(problems, resolver, keys, key_codes, quantity, converted.stored_units, step,
                                device_id, cumulative)
    alive = ~problems.bad
    ok_plain = alive & plain
    sid, ts_ok, val = series_id[ok_plain], ts_s[ok_plain], value[ok_plain]
    # Last row wins within the chunk. Times are checked to lie in 1970-2099, below 2**32 seconds,
    # so (series, second) packs into one int64 for a fast hash.
    repeat = pd.Series((sid << 32) | ts_ok).duplicated(keep="last").to_numpy()
    registers = None
    ok_cumulative = alive & cumulative
    if ok_cumulative.any():
        registers = pd.DataFrame({
            "household_id": household_id[ok_cumulative], "series": name.take(ok_cumulative),
            "series_id": series_id[ok_cumulative], "ts_s": ts_s[ok_cumulative], "value": value[ok_cumulative],
            "line": _lines(f, first_line)[ok_cumulative], "step_s": step[key_codes[ok_cumulative]],
        })
    rejected = int(problems.bad.sum())
    bad_rows = np.flatnonzero(problems.bad)
    if tally is not None:
        kept = bad_rows[tally.choose(problems.field[bad_rows], problems.reason[bad_rows])]
    else:
        kept = bad_rows[:max(keep_rejections or 0, 0)]
    return Prepared(
        series_id=sid[~repeat], ts_s=ts_ok[~repeat], value=val[~repeat], received=n, rejected=rejected,
        duplicates=int(repeat.sum()), registers=registers,
        rejections=_rejections(f, first_line, problems, kept),
    )


@dataclass(frozen=True)
class Labels:
    """A text column as integer ``codes`` (-1 where missing) into its distinct, stripped ``names``."""

    codes: np.ndarray
    names: list[str]

    def take(self, mask: np.ndarray) -> list[str]:
        table = self.names + [""]
        return [table[c] for c in self.codes[mask]]

    def categorical(self, where: np.ndarray, otherwise: str) -> pd.Categorical:
        """Per row the name where ``where``, else ``otherwise``, as a Categorical (no string per row)."""
        names = list(self.names)
        if otherwise not in names:
            names.append(otherwise)
        codes = np.where(where & (self.codes >= 0), self.codes, names.index(otherwise))
        return pd.Categorical.from_codes(codes, categories=names)


def labels_of(column: pd.Series) -> Labels:
    """Codes and stripped distinct names of a text column (Categoricals keep their codes)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes, raw = column.cat.codes.to_numpy(), list(column.cat.categories)
    else:
        codes, raw = pd.factorize(column.to_numpy(dtype=object))
    stripped = ["" if v is None else str(v).strip() for v in raw]
    # Stripping can make two names one ('load' and 'load '): merge their codes.
    merged, names = pd.factorize(np.array(stripped, dtype=object))
    codes = np.where(codes >= 0, np.append(merged, -1)[codes], -1)
    return Labels(codes=codes.astype(np.int64), names=[str(x) for x in names])


def _flags(column: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(column.dtype):
        return column.to_numpy(dtype=bool)
    return column.fillna(False).astype(bool).to_numpy()


def _per_row(household_id: np.ndarray, facts: dict[int, HouseholdFacts]) -> dict[str, np.ndarray]:
    codes, uniques = pd.factorize(household_id)
    out = {}
    for attr in ("pv_kwp", "capacity_kwh", "charge_kw", "discharge_kw", "latitude", "longitude", "import_kw",
                 "export_kw"):
        table = np.array([getattr(facts[h], attr) if h in facts else np.nan for h in uniques] + [np.nan])
        out[attr] = table[codes]
    return out


def _steps(key_codes: np.ndarray, ts_s: np.ndarray, usable: np.ndarray, n_keys: int) -> np.ndarray:
    """Nominal step [s] per series key: the most common spacing of its distinct times in the chunk
    (NaN with fewer than two). The most common, not the median, so that gaps do not shift it."""
    step = np.full(n_keys, np.nan)
    codes, ts = key_codes[usable], ts_s[usable]
    if len(codes) < 2:
        return step
    order = np.lexsort((ts, codes))
    codes, ts = codes[order], ts[order]
    gaps = np.diff(ts)
    same = (np.diff(codes) == 0) & (gaps > 0)
    if same.any():
        counts = pd.DataFrame({"code": codes[1:][same], "gap": gaps[same]}).value_counts(sort=True)
        mode = counts.reset_index().drop_duplicates("code")  # sorted by count: first per code is the mode
        step[mode["code"].to_numpy()] = mode["gap"].to_numpy()
    return step


def _check_steps(step: np.ndarray, keys: list[tuple[int, str]], key_codes: np.ndarray, ts_s: np.ndarray,
                 usable: np.ndarray, resolver: SeriesResolver) -> tuple[np.ndarray, np.ndarray]:
    """Interval [s] per series key for the rating checks, and where it had to be assumed.

    A series with one reading in the chunk and no known step is given the spacing to its nearest
    stored reading, else its household's usual step, else :data:`ASSUMED_STEP_S`: a reading sent
    alone is checked as it would be in a batch.
    """
    step = step.copy()
    assumed = np.zeros(len(step), dtype=bool)
    if np.isfinite(step).all() or not usable.any():
        return step, assumed
    first_row = pd.Series(np.flatnonzero(usable)).groupby(key_codes[usable]).first().to_dict()
    household_steps: dict[int, float] = {}
    for code in np.flatnonzero(~np.isfinite(step)):
        household_id, name = int(keys[code][0]), str(keys[code][1])
        if code not in first_row:
            continue
        known = resolver.known.get((household_id, name))
        spacing = resolver.spacing_near(known.id, int(ts_s[first_row[code]])) if known is not None else np.nan
        if not (np.isfinite(spacing) and 0 < spacing <= 86_400):
            if household_id not in household_steps:
                household_steps[household_id] = resolver.household_step(household_id)
            spacing = household_steps[household_id]
        if not np.isfinite(spacing):
            spacing, assumed[code] = float(ASSUMED_STEP_S), True
        step[code] = spacing
    return step, assumed


def _check_cumulative(problems: _Problems, keys: list[tuple[int, str]], key_codes: np.ndarray,
                      cumulative: np.ndarray) -> None:
    """Refuse rows of a series that disagree with its first row on being a meter register: one
    series holds interval energy given directly or derived from a register, not both."""
    alive = ~problems.bad
    if not alive.any() or not (cumulative[alive].any() and (~cumulative[alive]).any()):
        return
    first = pd.Series(cumulative[alive]).groupby(key_codes[alive]).first()
    expected = np.zeros(len(keys), dtype=bool)
    expected[first.index.to_numpy()] = first.to_numpy()
    mixed = alive & (cumulative != expected[key_codes])
    if mixed.any():
        problems.add(mixed, "cumulative", [
            f"series {keys[k][1]!r} gets {'meter registers' if expected[k] else 'interval readings'} in this batch "
            f"and this row is {'an interval reading' if expected[k] else 'a meter register'}: give each its own "
            "series name" for k in key_codes[mixed]])


def _check_devices(problems: _Problems, resolver: SeriesResolver, device_id: pd.Series,
                   household_id: np.ndarray) -> pd.Series:
    """Refuse rows naming a device that does not exist or belongs to another household (a new
    series would point at it); returns the device ids as given, None where missing."""
    numbers = pd.to_numeric(device_id, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    given = np.isfinite(numbers)
    if not given.any():
        return device_id
    whole = given & (numbers == np.round(numbers))
    problems.add(given & ~whole, "device_id", "the device id must be a whole number")
    ids = np.where(whole & (np.abs(numbers) < 2.0 ** 62), numbers, -1).astype(np.int64)
    owners = resolver.device_households(sorted({int(i) for i in ids[whole] if 0 < i < 2**31}))
    owner = np.array([owners.get(int(i), -1) for i in ids], dtype=np.int64)
    unknown = whole & (owner != household_id)
    if unknown.any():
        problems.add(unknown, "device_id", [
            f"device {i} does not exist in household {h}: register the device first, or leave device_id out"
            for i, h in zip(ids[unknown], household_id[unknown])])
    return pd.Series(np.where(whole, ids, None), dtype=object)


def _known_resolution(resolver: SeriesResolver, household_id: int, name: str) -> float:
    known = resolver.known.get((int(household_id), str(name)))
    return float(known.resolution_s) if known and known.resolution_s else np.nan


def _resolve_series(problems: _Problems, resolver: SeriesResolver, keys: list[tuple[int, str]],
                    key_codes: np.ndarray, quantity: Labels, stored_units: np.ndarray, step: np.ndarray,
                    device_id: pd.Series, cumulative: np.ndarray) -> np.ndarray:
    """Create unseen series of the rows still valid; refuse rows that disagree with their series.
    Returns the series id per row (-1 where refused)."""
    series_id = np.full(len(key_codes), -1, dtype=np.int64)
    alive = ~problems.bad
    if not alive.any():
        return series_id
    first = pd.Series(np.flatnonzero(alive)).groupby(key_codes[alive]).first()
    codes, rows = first.index.to_numpy(), first.to_numpy()
    quantity_names = np.array(quantity.names + [""], dtype=object)
    wanted = pd.DataFrame({
        "household_id": [keys[c][0] for c in codes], "series": [keys[c][1] for c in codes],
        "quantity": quantity_names[quantity.codes[rows]], "unit": stored_units[rows],
        "device_id": device_id.to_numpy(dtype=object)[rows],
        "resolution_s": [None if not np.isfinite(step[c]) else int(step[c]) for c in codes],
    })
    registers = wanted[cumulative[rows]]
    if not registers.empty:
        registers = registers.assign(series=registers["series"] + REGISTER_SUFFIX, quantity="other", unit="kWh")
        wanted = pd.concat([wanted, registers], ignore_index=True)
    resolver.resolve(wanted)
    # Per series key: its id and the quantity code it holds, then one vectorised comparison.
    sid_of_key = np.full(len(keys) + 1, -1, dtype=np.int64)
    quantity_of_key = np.full(len(keys) + 1, -2, dtype=np.int64)
    unit_of_key = np.empty(len(keys) + 1, dtype=object)
    for code in codes:
        series = resolver.known.get((int(keys[code][0]), str(keys[code][1])))
        if series is None:
            continue
        sid_of_key[code] = series.id
        quantity_of_key[code] = quantity.names.index(series.quantity) if series.quantity in quantity.names else -3
        unit_of_key[code] = series.unit
    wrong_quantity = alive & (quantity_of_key[key_codes] != quantity.codes)
    if wrong_quantity.any():
        problems.add(wrong_quantity, "quantity", [
            f"series {keys[k][1]!r} of household {keys[k][0]} holds "
            f"{resolver.get(keys[k][0], keys[k][1]).quantity} readings and this row says {q}: give {q} readings "
            "a series name of their own"
            for k, q in zip(key_codes[wrong_quantity], quantity.take(wrong_quantity))])
    other = quantity.names.index("other") if "other" in quantity.names else -4
    wrong_unit = ~problems.bad & (quantity.codes == other) & (unit_of_key[key_codes] != stored_units)
    if wrong_unit.any():
        problems.add(wrong_unit, "unit", [
            f"series {keys[k][1]!r} of household {keys[k][0]} is kept in {unit_of_key[k]!r}: give its values in "
            "that unit, or use another series name" for k in key_codes[wrong_unit]])
    alive = ~problems.bad
    series_id[alive] = sid_of_key[key_codes[alive]]
    return series_id


def _lines(f: pd.DataFrame, first_line: int) -> np.ndarray:
    lines = pd.to_numeric(f["line"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    fallback = np.arange(first_line, first_line + len(f), dtype=np.float64)
    return np.where(np.isfinite(lines), lines, fallback).astype(np.int64)


def _rejections(f: pd.DataFrame, first_line: int, problems: _Problems, rows: np.ndarray) -> list[Rejection]:
    if len(rows) == 0:
        return []
    lines = _lines(f, first_line)[rows]
    part = f.iloc[rows]
    raw = [
        ",".join("" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values)
        for values in zip(part["ts"], part["series"], part["value"], part["unit"])
    ]
    return [Rejection(int(line), str(problems.field[i]), str(problems.reason[i]), text)
            for line, i, text in zip(lines, rows, raw)]
