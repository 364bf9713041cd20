"""The ingestion core: readings in, a report out. Files, the REST API, MQTT and the CLI all come here.

Contract
--------
- :class:`ReadingIn` is one raw reading as a source gives it (any supported timestamp form,
  any supported unit). :func:`ingest_readings` validates it, converts it to the stored unit
  (power samples kW; energy kWh of the interval *starting* at ``ts``; battery_soc kWh at ``ts``)
  and upserts it: a new (series, ts) is *inserted*, a changed value *updated*, the same value
  again *unchanged*. Re-ingesting the same data changes nothing, and the report says so.
- Rows that cannot be stored come back as :class:`Rejection` (line, field, a reason saying how
  to fix it); the valid rows of the same batch are still committed (partial success).
- In the store a batch is atomic: its readings, the series it creates and its batch record
  are committed in one transaction, so a failure mid-batch (connection dropped) leaves nothing
  half-written, and a retry converges. A failed batch is still recorded, as ``failed``.
- After the commit, the series the batch changed and their windows are published
  (:mod:`services.ingestion.events`); the subscribers refresh ``daily_energy``, sensor rollups
  and devices' last-seen times.
- Within one batch, a (series, ts) given twice keeps the last value (``duplicates`` counts them).

Series are created on first sight, unique per (household, name), with the unit of their
quantity (:data:`~services.store.models.readings.QUANTITY_UNITS`).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from services.ingestion.batch import run_batch
from services.ingestion.frames import frame_from_readings
from services.ingestion.types import (
    Ambiguous,
    IngestOptions,
    IngestReport,
    Nonexistent,
    ReadingIn,
    Rejection,
)
from services.observability.hooks import observed_ingestion

__all__ = [
    "Ambiguous", "IngestOptions", "IngestReport", "Nonexistent", "ReadingIn", "Rejection",
    "ingest_frame", "ingest_frames", "ingest_readings",
]


def ingest_readings(readings: Iterable[ReadingIn], *, source: str, channel: str,
                    options: IngestOptions | None = None) -> IngestReport:
    """Validate, convert and upsert one batch of readings; record the batch; refresh daily energy.

    Parameters
    ----------
    readings : iterable of ReadingIn
        One batch (a JSON body, an MQTT flush). Consumed once.
    source : str
        Where it came from: file name, API client, MQTT topic.
    channel : str
        ``file``, ``api``, ``mqtt``, ``cli`` or ``demo``.
    options : IngestOptions, optional
        Time zone and DST policy, plausibility limits, dry run.

    Returns
    -------
    IngestReport
        Counts, rejections (line, field, reason) and the UTC window written per series.

    Raises
    ------
    sqlalchemy.exc.DBAPIError
        When the store fails mid-batch (e.g. the connection dropped): none of the batch's
        readings were written, the batch is recorded as failed, and retrying is safe.
    """
    return ingest_frames([frame_from_readings(readings)], source=source, channel=channel, options=options)


def ingest_frame(frame: pd.DataFrame, *, source: str, channel: str,
                 options: IngestOptions | None = None) -> IngestReport:
    """As :func:`ingest_readings`, for one DataFrame whose columns are the fields of
    :class:`ReadingIn` (``household_id``, ``series``, ``quantity``, ``ts``, ``value``, ``unit``;
    optional ``line``, ``device_id``, ``cumulative``, ``interval_s``). No per-row Python."""
    return ingest_frames([frame], source=source, channel=channel, options=options)


@observed_ingestion
def ingest_frames(chunks: Iterable[pd.DataFrame], *, source: str, channel: str,
                  options: IngestOptions | None = None) -> IngestReport:
    """One batch given as a stream of DataFrames (as :func:`ingest_frame`), e.g. a large file read
    in chunks: client memory stays bounded by one chunk, and the batch is still one transaction."""
    return run_batch(chunks, source=source, channel=channel, options=options or IngestOptions())
