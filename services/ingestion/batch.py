"""One batch from start to end: record it, prepare and stage each chunk, apply, record the outcome,
publish the series touched (:mod:`services.ingestion.events`). See :mod:`services.ingestion.core` for the contract."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import sqlalchemy as sa

from services import access
from services.ingestion import events
from services.ingestion.cells import storable_text
from services.ingestion.counters import registers_to_intervals
from services.ingestion.prepare import REGISTER_SUFFIX, prepare_chunk
from services.ingestion.rejections import RejectionTally
from services.ingestion.series import HouseholdFacts, SeriesResolver, household_facts
from services.ingestion.types import IngestOptions, IngestReport, MeterEvent, Rejection
from services.ingestion.upsert import Applied, Stage
from services.ingestion.validate import check_values
from services.store.db import get_engine, session_scope
from services.store.models import IngestionBatch, IngestionRejection, Reading

log = logging.getLogger(__name__)

#: Kinds of rejection reason and meter events kept on the batch record (the report holds them all).
MAX_REASONS_STORED = 200
MAX_EVENTS_STORED = 500


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
    if options.refresh_rollups and touched and events.publish(report.series_touched):
        # derived data: the readings are committed, and daily totals and rollups can be rebuilt from them
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
        tally = RejectionTally(options.max_rejections, options.max_rejections_per_reason)
        for chunk in chunks:
            facts.update(household_facts(conn, _new_household_ids(chunk, facts)))
            prepared = prepare_chunk(chunk, first_line=next_line, facts=facts, resolver=resolver, options=options,
                                     tally=tally)
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
            report.rejected_by_reason = tally.by_reason()
            report.message = (f"dry run: {valid} of {report.received} readings are valid, {report.rejected} "
                              "rejected; nothing was stored")
            return {}
        derived = _stage_registers(conn, resolver, stage, registers, report, options, facts, tally)
        report.rejected_by_reason = tally.by_reason()
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
                     report: IngestReport, options: IngestOptions, facts: dict[int, HouseholdFacts],
                     tally: RejectionTally) -> Stage | None:
    """Stage the batch's meter registers (counted, in their ``/register`` series) and the interval
    energy derived from them together with the registers already stored around the batch (not counted).

    The derived energy gets the checks interval readings get; a register whose interval fails
    them is refused (see :func:`services.ingestion.counters.registers_to_intervals` for glitches).
    """
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
                                        counter_max=options.counter_max,
                                        implausible=_plausibility(energy.quantity, facts.get(int(household_id)),
                                                                  options))
        lines = merged["line"].to_numpy()
        refused = result.bad & (lines >= 0)
        reasons = np.asarray(result.reasons, dtype=object)[refused[result.bad]] if result.bad.any() else \
            np.zeros(0, dtype=object)
        report.rejected += int(refused.sum())
        keep = tally.choose(np.full(len(reasons), "value", dtype=object), reasons)
        report.rejections.extend(Rejection(int(line), "value", str(reason), f"{_iso(ts)},{name},{value:g},kWh")
                                 for line, ts, value, reason in zip(lines[refused][keep],
                                                                    merged["ts_s"].to_numpy()[refused][keep],
                                                                    merged["value"].to_numpy()[refused][keep],
                                                                    reasons[keep]))
        ours = set(group["ts_s"].tolist())
        report.meter_events.extend(
            MeterEvent(int(household_id), str(name), e.kind, _utc(e.before_s), _utc(e.at_s), e.before, e.after)
            for e in result.events if e.at_s in ours or e.before_s in ours)
        good = ~result.bad & (lines >= 0)
        stage.add(np.full(int(good.sum()), register.id), merged["ts_s"].to_numpy()[good], merged["value"].to_numpy()[good])
        derived.add(np.full(len(result.start_s), energy.id), result.start_s, result.kwh)
    return derived


def _plausibility(quantity: str, facts: HouseholdFacts | None, options: IngestOptions):
    """The checks of interval readings (:func:`check_values`) for energy derived from a register."""
    def implausible(t0_s: np.ndarray, t1_s: np.ndarray, kwh: np.ndarray) -> list[str | None]:
        n = len(kwh)

        def per_row(attr: str) -> np.ndarray:
            return np.full(n, getattr(facts, attr) if facts is not None else np.nan)

        checked = check_values(np.asarray(kwh, dtype=np.float64), np.full(n, quantity, dtype=object),
                               np.full(n, "kWh", dtype=object), (t1_s - t0_s).astype(np.float64), per_row("pv_kwp"),
                               per_row("charge_kw"), per_row("discharge_kw"), per_row("capacity_kwh"),
                               options.max_value, start_s=t0_s, latitude=per_row("latitude"),
                               longitude=per_row("longitude"), import_kw=per_row("import_kw"),
                               export_kw=per_row("export_kw"))
        out: list[str | None] = [None] * n
        for i, reason in zip(np.flatnonzero(checked.bad), checked.reasons):
            out[i] = f"from the meter register: {reason}"
        return out

    return implausible


def _new_household_ids(chunk: pd.DataFrame, facts: dict) -> list[int]:
    """Whole, in-range household ids of a chunk not yet in ``facts`` (any cell may be anything)."""
    if not len(chunk):
        return []
    column = chunk["household_id"]
    if column.dtype == object:
        column = column.map(lambda v: v if isinstance(v, (int, float, str)) and not isinstance(v, bool) else None)
    ids = pd.to_numeric(column, errors="coerce").dropna().unique()
    return [int(h) for h in ids if abs(float(h)) < 2**31 and float(h).is_integer() and int(h) not in facts]


def _stored_registers(conn: sa.Connection, series_id: int, lo: int, hi: int) -> pd.DataFrame:
    """Registers of a series in [lo, hi] plus the last two before and the first one after (UTC seconds):
    two before, so that a glitch just before the batch can be told by the reading before it."""
    ts_col = Reading.ts
    lo_dt, hi_dt = _utc(lo), _utc(hi)
    base = sa.select(ts_col, Reading.value).where(Reading.series_id == series_id)
    parts = [
        base.where(ts_col < lo_dt).order_by(ts_col.desc()).limit(2),
        base.where(ts_col >= lo_dt, ts_col <= hi_dt),
        base.where(ts_col > hi_dt).order_by(ts_col).limit(1),
    ]
    rows = sorted(row for part in parts for row in conn.execute(part).all())
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
    """The batch row, committed at once so that a long ingestion shows as running; it belongs to the
    current caller's organisation (:func:`services.access.owner_id`)."""
    with session_scope() as session:
        batch = IngestionBatch(organisation_id=access.owner_id(), source=storable_text(source)[:200],
                               channel=storable_text(channel)[:16],
                               mapping_name=options.mapping_name, status="running")
        session.add(batch)
        session.flush()
        return batch.id


def _close_batch(conn: sa.Connection, report: IngestReport) -> None:
    """Counts and rejections, in the readings' transaction: the record and the data commit together."""
    message = report.summary()
    if report.rejected > len(report.rejections):
        message += (f"; {len(report.rejections)} of the {report.rejected} rejected rows are kept as examples, "
                    f"covering all {len(report.rejected_by_reason)} reasons")
    report.message = message
    conn.execute(sa.update(IngestionBatch).where(IngestionBatch.id == report.batch_id).values(
        status="done", finished_at=datetime.now(timezone.utc), received=report.received, inserted=report.inserted,
        updated=report.updated, unchanged=report.unchanged, rejected=report.rejected, message=storable_text(message),
        rejected_by_reason=[{"field": storable_text(r.field), "example": storable_text(r.example), "count": r.count}
                            for r in report.rejected_by_reason[:MAX_REASONS_STORED]],
        meter_events=[e.as_dict() for e in report.meter_events[:MAX_EVENTS_STORED]],
        meter_event_count=len(report.meter_events)))
    if report.rejections:
        conn.execute(sa.insert(IngestionRejection), [
            {"batch_id": report.batch_id, "line": r.line if r.line is None or abs(r.line) < 2**31 else None,
             "field": storable_text(r.field)[:80], "reason": storable_text(r.reason), "raw": storable_text(r.raw)}
            for r in report.rejections
        ])


def _close_failed_batch(report: IngestReport) -> None:
    try:
        with session_scope() as session:
            session.execute(sa.update(IngestionBatch).where(IngestionBatch.id == report.batch_id).values(
                status="failed", finished_at=datetime.now(timezone.utc), received=report.received,
                inserted=0, updated=0, unchanged=0, rejected=report.rejected, message=storable_text(report.message)))
    except Exception:  # the store may be the thing that failed; the original error matters more
        log.exception("could not record batch %s as failed", report.batch_id)


def _failure_message(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return (f"nothing from this batch was stored: {first[:300]}. Ingestion is idempotent, so sending the "
            "same data again is safe")


def _iso(seconds: int) -> str:
    return _utc(seconds).isoformat()


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(int(seconds), tz=timezone.utc)
