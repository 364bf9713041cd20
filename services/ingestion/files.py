"""Files (CSV, Excel, Parquet) read in chunks through a :class:`~.mapping.Mapping` into the core.

- CSV: comma, semicolon or tab separated, decimal point or comma, sniffed from the first
  kilobytes unless the mapping says; read with pandas in chunks.
- Excel (.xlsx, .xlsm): the first sheet or the mapping's, read row by row (openpyxl read-only).
- Parquet: record batches (pyarrow ``iter_batches``).

Memory stays bounded by one chunk whatever the file's size. Line numbers in rejections are the
file's: for CSV and Excel the header is line 1 and the first data row line 2; for Parquet, rows
count from 1.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from services.ingestion.core import ingest_frames
from services.ingestion.mapping import ColumnSpec, Mapping, load_mapping
from services.ingestion.timestamps import zone_from_text
from services.ingestion.types import IngestReport

#: Rows per chunk: the pipeline holds a few hundred bytes per row of a chunk at its peak.
CHUNK_ROWS = 50_000
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet", ".pq")

Source = str | Path | bytes | BinaryIO


@dataclass(frozen=True)
class Preview:
    """The first rows of a file as text, for choosing a mapping: its ``columns``, the ``rows``
    (strings), the ``kind`` (csv, excel, parquet) and, for CSV, the sniffed separator and decimal mark."""

    kind: str
    columns: list[str]
    rows: pd.DataFrame
    separator: str | None = None
    decimal: str | None = None


def file_kind(filename: str) -> str:
    """``csv``, ``excel`` or ``parquet`` from the file name.

    Raises
    ------
    ValueError
        For any other file type, naming those accepted.
    """
    suffix = Path(filename).suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in EXCEL_SUFFIXES:
        return "excel"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    raise ValueError(f"{Path(filename).name!r} is not a file type we read: upload CSV (.csv, .txt), "
                     "Excel (.xlsx) or Parquet (.parquet)")


def sniff_csv(sample: str) -> tuple[str, str]:
    """The separator (``,``, ``;`` or tab) and decimal mark (``.`` or ``,``) of CSV text."""
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    text = "\n".join(lines)
    try:
        separator = csv.Sniffer().sniff(text, delimiters=",;\t").delimiter
    except csv.Error:
        counts = {sep: text.count(sep) for sep in (";", "\t", ",")}
        separator = max(counts, key=counts.get) if any(counts.values()) else ","
    decimal = "."
    if separator != ",":
        body = lines[1:] if len(lines) > 1 else lines
        cells = [cell.strip().strip('"') for line in body for cell in line.split(separator)]
        with_comma = sum(1 for c in cells if _looks_like_decimal_comma(c))
        with_point = sum(1 for c in cells if _looks_like_number(c) and "." in c)
        if with_comma > with_point:
            decimal = ","
    return separator, decimal


def preview_file(source: Source, filename: str | None = None, *, rows: int = 20, separator: str | None = None,
                 decimal: str | None = None, sheet: str | None = None) -> Preview:
    """The first ``rows`` rows of a file, as text."""
    kind = file_kind(filename or _name_of(source))
    if kind == "csv":
        separator, decimal = _csv_format(source, separator, decimal)
        frame = pd.read_csv(_readable(source), sep=separator, decimal=decimal, nrows=rows, dtype=str,
                            keep_default_na=False)
    else:
        first = next(_raw_chunks(source, kind, rows, None, None, sheet), None)
        frame = pd.DataFrame() if first is None else first[1].head(rows)
    frame = frame.astype(str)
    return Preview(kind=kind, columns=[str(c) for c in frame.columns], rows=frame, separator=separator, decimal=decimal)


def frames_from_file(source: Source, mapping: Mapping, *, filename: str | None = None, household_id: int | None = None,
                     chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """The file's readings as batch frames for :func:`~.core.ingest_frames`, one per chunk.

    Raises
    ------
    ValueError
        When the file lacks a column the mapping names, or no household is given.
    """
    kind = file_kind(filename or _name_of(source))
    _check_households(mapping, household_id)
    start_row = 0
    for first_line, raw in _raw_chunks(source, kind, chunk_rows, mapping.separator, mapping.decimal, mapping.sheet):
        if start_row == 0:
            _check_columns(mapping, [str(c) for c in raw.columns])
        times = _times(raw, mapping, start_row)
        lines = np.arange(first_line, first_line + len(raw), dtype=np.int64)
        if mapping.layout == "wide":
            yield _wide(raw, times, lines, mapping, household_id)
        else:
            yield _long(raw, times, lines, mapping, household_id)
        start_row += len(raw)


def ingest_file(source: Source, mapping: Mapping | str, *, filename: str | None = None,
                household_id: int | None = None, channel: str = "file", chunk_rows: int = CHUNK_ROWS,
                refresh_rollups: bool = True) -> IngestReport:
    """Ingest a whole file as one batch through a mapping (a :class:`Mapping` or a saved name).

    ``household_id`` overrides the mapping's (one mapping reused for many homes);
    ``refresh_rollups=False`` leaves ``daily_energy`` to the caller (bulk loads of many files).
    """
    if isinstance(mapping, str):
        mapping = load_mapping(mapping)
    name = filename or _name_of(source)
    frames = frames_from_file(source, mapping, filename=name, household_id=household_id, chunk_rows=chunk_rows)
    return ingest_frames(frames, source=Path(name).name, channel=channel, options=mapping.options(refresh_rollups=refresh_rollups))


# -- reading ---------------------------------------------------------------------------------

def _raw_chunks(source: Source, kind: str, chunk_rows: int, separator: str | None, decimal: str | None,
                sheet: str | None) -> Iterator[tuple[int, pd.DataFrame]]:
    """(file line of the chunk's first row, chunk as read)."""
    if kind == "csv":
        separator, decimal = _csv_format(source, separator, decimal)
        reader = pd.read_csv(_readable(source), sep=separator, decimal=decimal, chunksize=chunk_rows,
                             skip_blank_lines=True)
        line = 2
        for chunk in reader:
            yield line, chunk
            line += len(chunk)
    elif kind == "excel":
        yield from _excel_chunks(source, chunk_rows, sheet)
    else:
        import pyarrow.parquet as pq

        row = 1
        for batch in pq.ParquetFile(_readable(source)).iter_batches(batch_size=chunk_rows):
            frame = batch.to_pandas()
            yield row, frame
            row += len(frame)


def _excel_chunks(source: Source, chunk_rows: int, sheet: str | None) -> Iterator[tuple[int, pd.DataFrame]]:
    from openpyxl import load_workbook

    book = load_workbook(_readable(source), read_only=True, data_only=True)
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise ValueError(f"the workbook has no sheet {sheet!r}: its sheets are {', '.join(book.sheetnames)}")
        rows = (book[sheet] if sheet else book.worksheets[0]).iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            return
        columns = [str(c) if c is not None else f"column {i + 1}" for i, c in enumerate(header)]
        line, buffer = 2, []
        for row in rows:
            buffer.append(row)
            if len(buffer) == chunk_rows:
                yield line, pd.DataFrame(buffer, columns=columns)
                line += len(buffer)
                buffer = []
        if buffer:
            yield line, pd.DataFrame(buffer, columns=columns)
    finally:
        book.close()


def _csv_format(source: Source, separator: str | None, decimal: str | None) -> tuple[str, str]:
    if separator and decimal:
        return separator, decimal
    if isinstance(source, (str, Path)):
        with open(source, "rb") as handle:
            sample = handle.read(64 * 1024)
    else:
        handle = _readable(source)
        sample = handle.read(64 * 1024)
        handle.seek(0)
    text = sample.decode("utf-8-sig", errors="replace") if isinstance(sample, bytes) else sample
    sniffed_sep, sniffed_dec = sniff_csv(text)
    return separator or sniffed_sep, decimal or sniffed_dec


def _readable(source: Source):
    """A path as a string (readers open and close it themselves), or a rewound binary stream."""
    if isinstance(source, (bytes, bytearray)):
        return io.BytesIO(source)
    if isinstance(source, (str, Path)):
        return str(source)
    if hasattr(source, "seek"):
        source.seek(0)
    return source


def _name_of(source: Source) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    name = getattr(source, "name", None)
    if not name:
        raise ValueError("give the file name (filename=...) so its type is known")
    return str(name)


# -- mapping ---------------------------------------------------------------------------------

def _check_households(mapping: Mapping, household_id: int | None) -> None:
    if household_id is not None or mapping.household_id is not None:
        return
    orphans = [c.column for c in mapping.columns if c.household_id is None]
    if orphans:
        raise ValueError(f"mapping {mapping.name!r} names no household for {', '.join(orphans)}: pass the "
                         "household (--household ID) or set household_id in the mapping")


def _check_columns(mapping: Mapping, columns: list[str]) -> None:
    needed = [mapping.time.column] if mapping.time.column else []
    if mapping.layout == "wide":
        needed += [c.column for c in mapping.columns]
    else:
        needed += [mapping.series_column, mapping.value_column] + ([mapping.unit_column] if mapping.unit_column else [])
    missing = [c for c in needed if c not in columns]
    if missing:
        raise ValueError(f"the file has no column {', '.join(map(repr, missing))} that mapping {mapping.name!r} "
                         f"reads; its columns are {', '.join(map(repr, columns))}")


def _times(raw: pd.DataFrame, mapping: Mapping, start_row: int) -> pd.Series:
    """The time of each row: the time column as read, or Unix seconds from start + step."""
    spec = mapping.time
    if spec.column:
        return raw[spec.column].reset_index(drop=True)
    start = datetime.fromisoformat(spec.start)
    if start.tzinfo is None:
        start = pd.Timestamp(start).tz_localize(zone_from_text(spec.timezone)).to_pydatetime()
    first = int(start.timestamp()) + start_row * spec.step_s
    return pd.Series(first + np.arange(len(raw), dtype=np.int64) * spec.step_s)


def _household(spec: ColumnSpec, mapping: Mapping, household_id: int | None) -> int:
    return household_id if household_id is not None else (spec.household_id or mapping.household_id)


def _wide(raw: pd.DataFrame, times: pd.Series, lines: np.ndarray, mapping: Mapping,
          household_id: int | None) -> pd.DataFrame:
    """One series after another: the rows of the first mapped column, then of the second ..."""
    n, specs = len(raw), mapping.columns
    m = len(specs)
    codes = np.repeat(np.arange(m), n)
    return pd.DataFrame({
        "household_id": np.array([_household(s, mapping, household_id) for s in specs], dtype=np.int64)[codes],
        "series": _categorical([s.series_name for s in specs], codes),
        "quantity": _categorical([s.quantity for s in specs], codes),
        "ts": pd.concat([times] * m, ignore_index=True),
        "value": pd.concat([raw[s.column].reset_index(drop=True) for s in specs], ignore_index=True),
        "unit": _categorical([s.unit for s in specs], codes),
        "line": np.tile(lines, m),
        "cumulative": np.array([s.cumulative for s in specs])[codes],
        "interval_s": np.array([s.interval_s or np.nan for s in specs], dtype=np.float64)[codes],
        "scale": np.array([s.scale for s in specs], dtype=np.float64)[codes],
        "per_kwp": np.array([s.per_kwp for s in specs])[codes],
    })


def _long(raw: pd.DataFrame, times: pd.Series, lines: np.ndarray, mapping: Mapping,
          household_id: int | None) -> pd.DataFrame:
    """Each row's series looked up in the mapping by its name in the series column."""
    codes, uniques = pd.factorize(raw[mapping.series_column].to_numpy(dtype=object))
    by_column = {s.column: s for s in mapping.columns}
    specs = [by_column.get(str(u).strip()) for u in uniques]
    # One slot per distinct name, plus a last one for rows without a name.
    slot = np.where(codes >= 0, codes, len(specs))
    specs_or_none = specs + [None]

    def table(get, default, dtype=object) -> np.ndarray:
        return np.array([get(s) if s is not None else default for s in specs_or_none], dtype=dtype)[slot]

    unknown = np.array([s is None for s in specs_or_none])[slot]
    reason = (f"this series is not in mapping {mapping.name!r}: add it to the mapping's columns, or leave "
              "these rows out")
    names = [s.series_name if s is not None else str(u) for s, u in zip(specs, uniques)] + [""]
    units = (raw[mapping.unit_column].reset_index(drop=True) if mapping.unit_column
             else _categorical([s.unit if s is not None else "" for s in specs_or_none], slot))
    return pd.DataFrame({
        "household_id": table(lambda s: _household(s, mapping, household_id), -1, np.int64),
        "series": _categorical(names, slot),
        "quantity": _categorical([s.quantity if s is not None else "other" for s in specs_or_none], slot),
        "ts": times,
        "value": raw[mapping.value_column].reset_index(drop=True),
        "unit": units,
        "line": lines,
        "cumulative": table(lambda s: s.cumulative, False, bool),
        "interval_s": table(lambda s: s.interval_s or np.nan, np.nan, np.float64),
        "scale": table(lambda s: s.scale, 1.0, np.float64),
        "per_kwp": table(lambda s: s.per_kwp, False, bool),
        "problem": np.where(unknown, reason, None) if unknown.any() else None,
        "problem_field": np.where(unknown, "series", None) if unknown.any() else None,
    })


def _categorical(values: list[str], codes: np.ndarray) -> pd.Categorical:
    """Per row ``values[codes]`` as a Categorical: no string object per row (values may repeat)."""
    merged, categories = pd.factorize(np.array(values, dtype=object))
    return pd.Categorical.from_codes(merged[codes], categories=list(categories))


def _looks_like_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _looks_like_decimal_comma(cell: str) -> bool:
    return cell.count(",") == 1 and "." not in cell and _looks_like_number(cell.replace(",", "."))
