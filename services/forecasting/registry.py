"""Trained models, issued forecasts and back-test results in the store.

Models are pickled into ``ForecastModel.blob`` with a small header (format tag,
scikit-learn version, SHA-256 of the payload). **Security:** unpickling runs code;
only blobs this app wrote are ever loaded, and :func:`load_model` refuses a blob
whose header or digest does not match, or that was written by another
scikit-learn version (whose pickles are not guaranteed to load correctly): such a
model counts as stale and is retrained. Never import model blobs from elsewhere.

Forecast values are kWh per step (the interval starting at ``ts``), P10/P50/P90. This module is the
one reader of stored forecasts: :func:`latest_forecast` for one household, :func:`forecast_candidates`
for many at once (what schedule inputs ask for a whole fleet chunk in one query on PostgreSQL).
"""

from __future__ import annotations

import hashlib
import pickle
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.store.bulk import numpy_arrays, raw_cursor
from services.store.db import session_scope
from services.store.frames import rows_frame
from services.store.models import Forecast, ForecastBacktest, ForecastModel, ForecastValue
from services.store.types import epoch_seconds

_MAGIC = b"EDFM1"
#: A model older than this is retrained by :func:`is_stale` callers.
MAX_MODEL_AGE = timedelta(days=7)
TARGETS = ("pv", "load")


class ModelBlobError(ValueError):
    """A stored model cannot be trusted or read; it must be retrained."""


@dataclass(frozen=True)
class StoredModel:
    """A model row: ``estimator`` is the unpickled model (a ``PVModel`` or ``LoadModel``), or None
    when its blob could not be used (``problem`` says why)."""

    id: int
    household_id: int
    target: str
    version: str
    trained_at: datetime
    train_start: datetime
    train_end: datetime
    features: list
    metrics: dict
    estimator: object | None
    problem: str = ""


@dataclass(frozen=True)
class StoredForecast:
    """An issued forecast: ``frame`` by UTC ``ts`` with ``p10``, ``p50``, ``p90`` [kWh per step]."""

    id: int
    household_id: int
    target: str
    method: str
    model_id: int | None
    issued_at: datetime
    note: str
    frame: pd.DataFrame


def _sklearn_version() -> str:
    """scikit-learn's version, importing it only here (80 MB that a process ingesting data never needs)."""
    import sklearn

    return sklearn.__version__


def version_tag(model_version: str) -> str:
    """What is stored in ``ForecastModel.version``: the model's own version and scikit-learn's."""
    return f"{model_version}/sklearn-{_sklearn_version()}"


def dumps_model(model: object) -> bytes:
    """Header + pickle of ``model`` (see the module docstring for why there is a header)."""
    payload = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    version = _sklearn_version().encode()
    return _MAGIC + bytes([len(version)]) + version + hashlib.sha256(payload).digest() + payload


def loads_model(blob: bytes) -> object:
    """The model in a blob written by :func:`dumps_model`; :class:`ModelBlobError` if anything is off."""
    if not blob or not blob.startswith(_MAGIC):
        raise ModelBlobError("not a model blob written by this app")
    n = blob[len(_MAGIC)]
    start = len(_MAGIC) + 1
    version = blob[start:start + n].decode(errors="replace")
    digest = blob[start + n:start + n + 32]
    payload = blob[start + n + 32:]
    if version != _sklearn_version():
        raise ModelBlobError(f"written with scikit-learn {version}, running {_sklearn_version()}: retrain")
    if hashlib.sha256(payload).digest() != digest:
        raise ModelBlobError("model blob is damaged (checksum mismatch): retrain")
    return pickle.loads(payload)  # noqa: S301 - only blobs this app wrote, checked above


def save_model(household_id: int, target: str, model: object, model_version: str, train_start: datetime,
               train_end: datetime, features: list[str], metrics: dict | None = None,
               url: str | None = None) -> int:
    """Store a trained model for a household's ``target`` (``pv`` or ``load``); returns its id."""
    _check_target(target)
    row = ForecastModel(
        household_id=household_id, target=target, version=version_tag(model_version),
        trained_at=datetime.now(UTC), train_start=_utc(train_start), train_end=_utc(train_end),
        features=list(features), metrics=dict(metrics or {}), blob=dumps_model(model),
    )
    with session_scope(url) as session:
        session.add(row)
        session.flush()
        return row.id


def latest_model(household_id: int, target: str, url: str | None = None) -> StoredModel | None:
    """The newest model of a household's ``target``, unpickled if its blob can be trusted."""
    _check_target(target)
    query = (sa.select(ForecastModel).where(ForecastModel.household_id == household_id,
                                            ForecastModel.target == target)
             .order_by(ForecastModel.trained_at.desc(), ForecastModel.id.desc()).limit(1))
    with session_scope(url) as session:
        row = session.scalars(query).first()
        if row is None:
            return None
        estimator, problem = None, ""
        try:
            estimator = loads_model(row.blob)
        except ModelBlobError as exc:
            problem = str(exc)
        return StoredModel(
            id=row.id, household_id=row.household_id, target=row.target, version=row.version,
            trained_at=row.trained_at, train_start=row.train_start, train_end=row.train_end,
            features=list(row.features or []), metrics=dict(row.metrics or {}), estimator=estimator,
            problem=problem,
        )


def is_stale(model: StoredModel | None, model_version: str, now: datetime | None = None,
             max_age: timedelta = MAX_MODEL_AGE) -> tuple[bool, str]:
    """Whether a stored model should be retrained, and why (a sentence), or ``(False, "")``.

    Stale: there is none, its blob is unusable, it was trained by another model or
    scikit-learn version, or it is older than ``max_age``.
    """
    now = now or datetime.now(UTC)
    if model is None:
        return True, "no model trained yet"
    if model.estimator is None:
        return True, model.problem or "stored model cannot be read"
    if model.version != version_tag(model_version):
        return True, f"trained as {model.version}, current is {version_tag(model_version)}"
    age = now - model.trained_at
    if age > max_age:
        return True, f"trained {age.days} days ago (retrained after {max_age.days})"
    return False, ""


def save_forecast(household_id: int, target: str, method: str, frame: pd.DataFrame, issued_at: datetime,
                  model_id: int | None = None, note: str = "", url: str | None = None) -> int:
    """Store an issued forecast (``frame``: UTC index, ``p10``/``p50``/``p90`` [kWh per step])."""
    _check_target(target)
    if frame.empty:
        raise ValueError("an empty forecast cannot be stored")
    index = pd.DatetimeIndex(frame.index)
    if index.tz is None:
        raise ValueError("forecast time stamps are naive: attach UTC")
    with session_scope(url) as session:
        forecast = Forecast(household_id=household_id, target=target, method=method, model_id=model_id,
                            issued_at=_utc(issued_at), note=note)
        session.add(forecast)
        session.flush()
        session.add_all(
            ForecastValue(forecast_id=forecast.id, ts=ts, p50=float(row.p50), p10=_opt(row, "p10"),
                          p90=_opt(row, "p90"))
            for ts, row in zip(index.tz_convert("UTC").to_pydatetime(), frame.itertuples(index=False))
        )
        return forecast.id


def latest_forecast(household_id: int, target: str, url: str | None = None) -> StoredForecast | None:
    """The newest stored forecast of a household's ``target``, with its values."""
    _check_target(target)
    with session_scope(url) as session:
        forecast = session.scalars(
            sa.select(Forecast).where(Forecast.household_id == household_id, Forecast.target == target)
            .order_by(Forecast.issued_at.desc(), Forecast.id.desc()).limit(1)
        ).first()
        if forecast is None:
            return None
        rows = session.execute(
            sa.select(ForecastValue.ts, ForecastValue.p10, ForecastValue.p50, ForecastValue.p90)
            .where(ForecastValue.forecast_id == forecast.id).order_by(ForecastValue.ts)
        ).all()
        frame = rows_frame(rows, ["ts", "p10", "p50", "p90"])
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        frame = frame.set_index("ts").astype(float)
        return StoredForecast(forecast.id, forecast.household_id, forecast.target, forecast.method,
                              forecast.model_id, forecast.issued_at, forecast.note, frame)


def save_backtest(household_id: int, target: str, period_start: datetime, period_end: datetime,
                  metrics: dict, url: str | None = None) -> int:
    """Store a back-test's scores (overall and per month, JSON-serialisable)."""
    _check_target(target)
    with session_scope(url) as session:
        row = ForecastBacktest(household_id=household_id, target=target, period_start=_utc(period_start),
                               period_end=_utc(period_end), created_at=datetime.now(UTC), metrics=metrics)
        session.add(row)
        session.flush()
        return row.id


def latest_backtest(household_id: int, target: str, url: str | None = None) -> dict | None:
    """The newest back-test of a household's ``target``: period and metrics, or None."""
    _check_target(target)
    with session_scope(url) as session:
        row = session.scalars(
            sa.select(ForecastBacktest).where(ForecastBacktest.household_id == household_id,
                                              ForecastBacktest.target == target)
            .order_by(ForecastBacktest.created_at.desc(), ForecastBacktest.id.desc()).limit(1)
        ).first()
        if row is None:
            return None
        return {"id": row.id, "period_start": row.period_start, "period_end": row.period_end,
                "created_at": row.created_at, "metrics": dict(row.metrics)}


def _check_target(target: str) -> None:
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, got {target!r}")


def _opt(row, name: str) -> float | None:
    value = getattr(row, name, None)
    return None if value is None or pd.isna(value) else float(value)


def _utc(value: datetime) -> datetime:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        raise ValueError(f"naive datetime {stamp.isoformat()} given: attach a time zone")
    return stamp.tz_convert("UTC").to_pydatetime()


def check_forecaster(settings) -> tuple[str, str]:
    """Health check for :data:`services.health.SERVICE_CHECKS`: stored models and their age (no training)."""
    with session_scope(settings.database_url) as session:
        count, newest = session.execute(
            sa.select(sa.func.count(ForecastModel.id), sa.func.max(ForecastModel.trained_at))).one()
    if not count:
        return "ok", "no models trained yet: forecasts use the physical model and persistence"
    newest = pd.Timestamp(newest, unit="s", tz="UTC") if isinstance(newest, (int, float)) else pd.Timestamp(newest)
    newest = newest.tz_localize("UTC") if newest.tzinfo is None else newest
    age = datetime.now(UTC) - newest.to_pydatetime()
    detail = f"{count} models stored, newest trained {newest:%Y-%m-%d %H:%M} UTC"
    if age > MAX_MODEL_AGE:
        return "degraded", f"{detail}: older than {MAX_MODEL_AGE.days} days, retrain the models"
    return "ok", detail


class ForecastSteps(NamedTuple):
    """One stored forecast's P50 in time order: each step's start [ns since the epoch, UTC] and its
    energy [kWh per step]. Plain arrays: a fleet chunk reads a thousand of them at once."""

    starts_ns: np.ndarray
    kwh: np.ndarray


def forecast_candidates(household_ids: Sequence[int], targets: Sequence[str], start: datetime, end: datetime,
                        now: datetime, limit: int, *, session: Session | None = None,
                        url: str | None = None) -> dict[tuple[int, str], list[ForecastSteps]]:
    """Stored forecasts of many households at once (one query on PostgreSQL, two on SQLite, however
    many households): those of ``targets`` issued by ``now`` with values in ``[start - 1 h, end)``.

    Returns, per (household, target), up to ``limit`` forecasts newest first (by issue time, then
    id), each as :class:`ForecastSteps` (step starts, UTC, and energy per step [kWh, P50]) in time
    order. The hour before ``start`` is read so that an hourly forecast's step covering ``start``
    is there. Reads in ``session`` when given (a caller's transaction), else in its own.
    """
    if not household_ids or not targets:
        return {}
    if session is None:
        with session_scope(url) as own:
            return forecast_candidates(household_ids, targets, start, end, now, limit, session=own)
    lo = start - timedelta(hours=1)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        chosen, ids, seconds, values = _candidates_pg(conn, household_ids, targets, lo, end, now, limit)
    else:
        chosen, ids, seconds, values = _candidates_sql(session, household_ids, targets, lo, end, now, limit)
    if not chosen:
        return {}
    starts_ns = seconds.astype(np.int64) * 1_000_000_000
    bounds = np.flatnonzero(np.diff(ids)) + 1
    steps = {int(ids[lo_]): ForecastSteps(starts_ns[lo_:hi_], values[lo_:hi_])
             for lo_, hi_ in zip(np.r_[0, bounds], np.r_[bounds, len(ids)], strict=True) if hi_ > lo_}
    return {key: [steps[f] for f in ids_ if f in steps] for key, ids_ in chosen.items()}


def _candidates_sql(session: Session, household_ids, targets, lo: datetime, end: datetime, now: datetime,
                    limit: int):
    """The chosen forecast ids per (household, target), newest first, and the values of all of them
    in ``[lo, end)`` by forecast and time: (forecast id, Unix seconds, P50 [kWh]) arrays."""
    found = session.execute(
        sa.select(Forecast.id, Forecast.household_id, Forecast.target)
        .join(ForecastValue, ForecastValue.forecast_id == Forecast.id)
        .where(Forecast.household_id.in_(list(household_ids)), Forecast.target.in_(list(targets)),
               Forecast.issued_at <= now, ForecastValue.ts >= lo, ForecastValue.ts < end)
        .group_by(Forecast.id, Forecast.household_id, Forecast.target, Forecast.issued_at)
        .order_by(Forecast.issued_at.desc(), Forecast.id.desc())
    ).all()
    chosen: dict[tuple[int, str], list[int]] = defaultdict(list)
    for forecast_id, household_id, target in found:
        if len(chosen[household_id, target]) < limit:
            chosen[household_id, target].append(forecast_id)
    wanted = [f for ids in chosen.values() for f in ids]
    if not wanted:
        return {}, None, None, None
    rows = session.connection().execute(
        sa.select(ForecastValue.forecast_id, epoch_seconds(ForecastValue.ts), ForecastValue.p50)
        .where(ForecastValue.forecast_id.in_(wanted), ForecastValue.ts >= lo, ForecastValue.ts < end)
        .order_by(ForecastValue.forecast_id, ForecastValue.ts)
    ).all()
    table = rows_frame(rows, ["forecast_id", "ts", "p50"])
    return (chosen, table["forecast_id"].to_numpy(dtype=np.int64), table["ts"].to_numpy(dtype=np.int64),
            table["p50"].to_numpy(dtype=float))


def _candidates_pg(conn: sa.Connection, household_ids, targets, lo: datetime, end: datetime, now: datetime,
                   limit: int):
    """PostgreSQL: as :func:`_candidates_sql`, in one query with array parameters (no placeholder per
    household) and one row per forecast of two arrays (times, P50) read in binary: no Python object
    per value. The same forecasts (ranked the same way among those with a value in ``[lo, end)``)."""
    epoch = epoch_seconds(sa.literal_column("v.ts")).compile(dialect=conn.dialect)
    within = "v.forecast_id = f.id AND v.ts >= %(lo)s AND v.ts < %(end)s"
    query = (
        "SELECT f.id, f.household_id, f.target, f.rank, a.ts, a.p50 FROM ("
        " SELECT id, household_id, target, row_number() OVER (PARTITION BY household_id, target"
        " ORDER BY issued_at DESC, id DESC) AS rank FROM forecasts f"
        " WHERE household_id = ANY(%(households)s::int[]) AND target = ANY(%(targets)s::text[])"
        f" AND issued_at <= %(now)s AND EXISTS (SELECT 1 FROM forecast_values v WHERE {within})) f"
        f" CROSS JOIN LATERAL (SELECT array_agg({epoch} ORDER BY v.ts) AS ts, array_agg(v.p50 ORDER BY v.ts) AS p50"
        f" FROM forecast_values v WHERE {within}) a"
        " WHERE f.rank <= %(limit)s ORDER BY f.id")
    params = {"households": [int(h) for h in household_ids], "targets": [str(t) for t in targets],
              "lo": lo, "end": end, "now": now, "limit": int(limit)}
    with raw_cursor(conn, query) as cursor:  # binary: arrays arrive as numpy arrays, not text to parse
        numpy_arrays(cursor)
        rows = cursor.execute(query, params, binary=True).fetchall()
    if not rows:
        return {}, None, None, None
    ranked: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
    for forecast_id, household_id, target, rank, _, _ in rows:
        ranked[household_id, target].append((rank, forecast_id))
    chosen = {key: [f for _, f in sorted(pairs)] for key, pairs in ranked.items()}  # newest first
    ids = np.repeat(np.array([r[0] for r in rows], dtype=np.int64), [len(r[4]) for r in rows])
    seconds = np.concatenate([np.asarray(r[4], dtype=np.int64) for r in rows])
    values = np.concatenate([np.asarray(r[5], dtype=float) for r in rows])
    return chosen, ids, seconds, values
