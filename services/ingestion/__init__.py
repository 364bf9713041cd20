"""Ingestion of meter and sensor readings: one core (:mod:`.core`) for files, the API, MQTT and the CLI."""

from services.ingestion.core import (
    IngestOptions,
    IngestReport,
    ReadingIn,
    Rejection,
    ingest_frame,
    ingest_frames,
    ingest_readings,
)

__all__ = ["IngestOptions", "IngestReport", "ReadingIn", "Rejection", "ingest_frame", "ingest_frames",
           "ingest_readings"]
