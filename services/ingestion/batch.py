"""One batch from start to end: record it, prepare and stage each chunk, apply, record the outcome,
refresh daily energy. See :mod:`services.ingestion.core` for the contract."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import sqlalchemy as sa

from services.ingestion.counters import registers_to_intervals
from services.ingestion.prepare import REGISTER_SUFFIX, prepare_chunk
from services.ingestion.series import SeriesResolver, household_facts
from services.ingestion.types import IngestOptions, IngestReport, Rejection
from services.ingestion.upsert import Applied, Stage
from services.iot import record_ingest
from services.store.db import get_engine, session_scope
from services.store.models import ENERGY_QUANTITIES, IngestionBatch, IngestionRejection, Reading, Series

log = logging.getLogger(__name__)


def run_batch(chunks: Iterable[pd.DataFrame], *, source: str, channel: str, options: IngestOptions) -> IngestReport:
    """Ingest the chunks as one batch (one transaction) and report."""
    report = IngestReport(batch_id=None if options.dry_run else _open_batch(source, channel, options))
    try:
        touched = _ingest(chunks, report, options)
    except BaseException as exc:
        report.status = "failed"
        report.message = _failure_message(exc)
        if report.batch_id is not None:
            _close_failed_batch(report)
        raise
    if options.refresh_rollups and touched:
        try:  # derived data: the readings are committed, and these can always be rebuilt from them
            _refresh_daily_energy(touched)
            record_ingest(report)  # sensor rollups and devices' last-seen times
        except Exception:  # noqa: BLE001
            log.exception("batch %s stored, but its daily energy or rollups were not refreshed", report.batch_id)
            report.message = (report.message + " Readings stored; daily totals and rollups not yet refreshed.").strip()
    return report


def _ingest(chunks: Iterable[pd.DataFrame], report: IngestReport, options: IngestOptions) -> dict[int, tuple[int, int]]:
    """Everything that happens inside the batch's transaction; returns the touched windows."""
    engine = get_engine()
    with engine.begin() as conn:
        resolver = SeriesResolver(conn, create=not options.dry_run)
        stage = None if options.dry_run else Stage(conn)
        facts: dict = {}
        registers = []
        next_line = 1
        valid = 0
        for chunk in chunks:
            ids = pd.to_numeric(chunk["household_id"], errors="coerce").dropna().unique() if len(chunk) else []
            wanted = [int(h) for h in ids if float(h).is_integer() and int(h) not in facts]
            facts.update(household_facts(conn, wanted))
            prepared = prepare_chunk(chunk, first_line=next_line, facts=facts, resolver=resolver, options=options,
                                     keep_rejections=options.max_rejections - len(report.rejections))
            next_line += len(chunk)
            report.received += prepared.received
            report.rejected += prepared.rejected
            report.duplicates += prepared.duplicates
            report.rejections.extend(prepared.rejections)
            if prepared.registers is not None:
                registers.append(prepared.registers)
            if stage is not None:
                stage.add(prepared.series_id, prepared.ts_s, prepared.value)
            else:
                valid += len(prepared.series_id)
        if stage is None:
            report.message = (f"dry run: {valid} of {report.received} readings are valid, {report.rejected} "
                              "rejected; nothing was stored")
            return {}
        derived = _stage_registers(conn, resolver, stage, registers, report, options)
        if options.before_apply is not None:
            options.before_apply(conn)
        applied = stage.apply()
        derived_applied = derived.apply(count=False) if derived is not None else Applied()
        report.inserted, report.updated, report.unchanged = applied.inserted, applied.updated, applied.unchanged
        report.duplicates += applied.duplicates
        touched = _merge_touched(applied.touched, derived_applied.touched)
        report.series_touched = {
            sid: (_utc(lo), _utc(hi)) for sid, (lo, hi) in touched.items()
        }
        _close_batch(conn, report)
    return touched


def _stage_registers(conn: sa.Connection, resolver: SeriesResolver, stage: Stage, registers: list[pd.DataFrame],
                     report: IngestReport, options: IngestOptions) -> Stage | None:
    """Stage the batch's meter registers (counted, in their ``/register`` series) and the interval
    energy derived from them together with the registers already stored around the batch (not counted)."""
    if not registers:
        return None
    frame = pd.concat(registers, ignore_index=True)
    derived = Stage(conn, name="ingest_derived")
    for (household_id, name), group in frame.groupby(["household_id", "series"], sort=False):
        deduplicated = group.drop_duplicates("ts_s", keep="last").sort_values("ts_s")
        report.duplicates += len(group) - len(deduplicated)
        group = deduplicated
        register = resolver.get(int(household_id), name + REGISTER_SUFFIX)
        energy = resolver.get(int(household_id), name)
        stored = _stored_registers(conn, register.id, int(group["ts_s"].min()), int(group["ts_s"].max()))
        merged = pd.concat([stored.assign(line=-1), group[["ts_s", "value", "line"]]], ignore_index=True)
        merged = merged.drop_duplicates("ts_s", keep="last").sort_values("ts_s")
        step = energy.resolution_s or (int(group["step_s"].iloc[0]) if np.isfinite(group["step_s"].iloc[0]) else None)
        result = registers_to_intervals(merged["ts_s"].to_numpy(), merged["value"].to_numpy(), step_s=step,
                                        counter_max=options.counter_max)
        refused = result.bad & (merged["line"].to_numpy() >= 0)
        kept_lines = merged["line"].to_numpy()[refused]
        reasons = np.asarray(result.reasons, dtype=object)[refused[result.bad]] if result.bad.any() else []
        for line, reason in zip(kept_lines, reasons):
            report.rejected += 1
            if len(report.rejections) < options.max_rejections:
                report.rejections.append(Rejection(int(line), "value", str(reason)))
        good = ~result.bad & (merged["line"].to_numpy() >= 0)
        stage.add(np.full(int(good.sum()), register.id), merged["ts_s"].to_numpy()[good], merged["value"].to_numpy()[good])
        derived.add(np.full(len(result.start_s), energy.id), result.start_s, result.kwh)
    return derived


def _stored_registers(conn: sa.Connection, series_id: int, lo: int, hi: int) -> pd.DataFrame:
    """Registers of a series in [lo, hi] plus the last one before and the first one after (UTC seconds)."""
    ts_col = Reading.ts
    lo_dt, hi_dt = _utc(lo), _utc(hi)
    base = sa.select(ts_col, Reading.value).where(Reading.series_id == series_id)
    parts = [
        base.where(ts_col < lo_dt).order_by(ts_col.desc()).limit(1),
        base.where(ts_col >= lo_dt, ts_col <= hi_dt),
        base.where(ts_col > hi_dt).order_by(ts_col).limit(1),
    ]
    rows = [row for part in parts for row in conn.execute(part).all()]
    return pd.DataFrame({"ts_s": [int(r[0].timestamp()) for r in rows], "value": [float(r[1]) for r in rows]},
                        columns=["ts_s", "value"]).astype({"ts_s": np.int64, "value": np.float64})


def _merge_touched(*windows: dict[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
    merged: dict[int, tuple[int, int]] = {}
    for window in windows:
        for sid, (lo, hi) in window.items():
            old = merged.get(sid)
            merged[sid] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))
    return merged


def _open_batch(source: str, channel: str, options: IngestOptions) -> int:
    """The batch row, committed at once so that a long ingestion shows as running."""
    with session_scope() as session:
        batch = IngestionBatch(source=source[:200], channel=channel[:16], mapping_name=options.mapping_name,
                               status="running")
        session.add(batch)
        session.flush()
        return batch.id


def _close_batch(conn: sa.Connection, report: IngestReport) -> None:
    """Counts and rejections, in the readings' transaction: the record and the data commit together."""
    message = report.summary()
    if report.rejected > len(report.rejections):
        message += f"; the first {len(report.rejections)} rejections are kept"
    report.message = message
    conn.execute(sa.update(IngestionBatch).where(IngestionBatch.id == report.batch_id).values(
        status="done", finished_at=datetime.now(timezone.utc), received=report.received, inserted=report.inserted,
        updated=report.updated, unchanged=report.unchanged, rejected=report.rejected, message=message))
    if report.rejections:
        conn.execute(sa.insert(IngestionRejection), [
            {"batch_id": report.batch_id, "line": r.line, "field": r.field[:80], "reason": r.reason, "raw": r.raw}
            for r in report.rejections
        ])


def _close_failed_batch(report: IngestReport) -> None:
    try:
        with session_scope() as session:
            session.execute(sa.update(IngestionBatch).where(IngestionBatch.id == report.batch_id).values(
                status="failed", finished_at=datetime.now(timezone.utc), received=report.received,
                inserted=0, updated=0, unchanged=0, rejected=report.rejected, message=report.message))
    except Exception:  # the store may be the thing that failed; the original error matters more
        log.exception("could not record batch %s as failed", report.batch_id)


def _failure_message(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return (f"nothing from this batch was stored: {first[:300]}. Ingestion is idempotent, so sending the "
            "same data again is safe")


def _refresh_daily_energy(touched: dict[int, tuple[int, int]]) -> None:
    """Recompute daily energy over the window each household's energy series changed in."""
    from services.rollups import refresh_daily_energy

    with session_scope() as session:
        rows = session.execute(sa.select(Series.id, Series.household_id).where(
            Series.id.in_(list(touched)), Series.quantity.in_(ENERGY_QUANTITIES))).all()
    windows: dict[int, tuple[int, int]] = {}
    for sid, household_id in rows:
        lo, hi = touched[sid]
        old = windows.get(household_id)
        windows[household_id] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))
    for household_id, (lo, hi) in windows.items():
        # The reading at ``hi`` covers the interval starting there: include it (end is exclusive).
        refresh_daily_energy([household_id], _utc(lo), _utc(hi + 1))


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(int(seconds), tz=timezone.utc)
