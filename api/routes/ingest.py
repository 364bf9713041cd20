"""Streaming ingestion over HTTP: ``POST /api/ingest/readings`` takes a JSON batch of readings.

Every reading is checked on its own. Valid readings are stored even when others in the
same request are not (partial success): the answer is 200 when all were valid and 422
when some were refused, with the batch report either way, so the caller knows what was
stored and can fix and re-send only the refused rows. Sending a batch twice changes
nothing (ingestion is idempotent), which is why a 503 (the store failed mid-batch,
nothing stored) can always be retried.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, SkipValidation, StrictBool, ValidationError, field_validator
from sqlalchemy.exc import DataError, InterfaceError, OperationalError

from api.errors import ApiError, invalid_fields, unprocessable
from api.fields import INT32_MAX, Count, Id, Number, Text
from api.models import ErrorBody, FieldError
from api.openapi import api_route
from services.access import require_role
from services.ingestion.core import IngestOptions, IngestReport, ingest_frame
from services.ingestion.timestamps import zone_from_text
from services.store.models import QUANTITY_UNITS
from services.text_checks import printable

#: Readings per request; larger back-fills go through the CLI or a file upload.
MAX_READINGS = 10_000
#: Seconds a client should wait before retrying after a 503.
RETRY_AFTER_S = 5

Quantity = Literal[tuple(QUANTITY_UNITS)]  # type: ignore[valid-type]
#: A number as a time: Unix epoch seconds (milliseconds reach the ingestion core, which says so).
#: Beyond 10^15 no clock is meant, and the conversion to nanoseconds would overflow.
EpochNumber = Annotated[Count | Number, Field(ge=-10**15, le=10**15)]


class ReadingRow(BaseModel):
    """One reading. Energy quantities are the energy of the interval starting at `ts`."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    household_id: Id = Field(description="The household the reading belongs to.")
    series: Text = Field(min_length=1, max_length=110,
                         description="Series name, unique per household, e.g. `load` or `kitchen/temperature`; "
                                     "created on first sight.")
    quantity: Quantity = Field(description="What is measured; fixes the stored unit (`load`, `pv`: kWh per "
                                           "interval; `power`: kW; `temperature`: degC ...).")
    ts: Text | EpochNumber = Field(
        description="ISO 8601 with an offset (`2025-03-30T02:15:00+02:00`), Unix epoch seconds, or a naive "
                    "local time read in the household's time zone (or `timezone`).")
    value: Number | Text = Field(description="The number; a string may use a decimal comma (`\"3,25\"`).")
    unit: Text = Field(min_length=1, max_length=16,
                       description="Unit of `value`: W/kW/MW, Wh/kWh/MWh, degC, %, W/m2 ... converted to the "
                                   "stored unit. Power for an energy quantity is read as the interval's average.")
    device_id: Id | None = Field(default=None, description="Device that measured it (set on a new series).")
    cumulative: StrictBool = Field(default=False, description="`value` is a meter register (energy counted "
                                                              "since installation), turned into interval energy.")
    interval_s: Count | None = Field(default=None, ge=1, le=86_400,
                                     description="Interval length [s] for a power given for an energy quantity.")


class IngestRequest(BaseModel):
    """A batch of readings and how to read their times."""

    model_config = ConfigDict(extra="forbid")

    source: Text = Field(default="api", min_length=1, max_length=120,
                         description="Who sends, recorded with the batch (e.g. `gateway-7`).")
    timezone: Text | None = Field(default=None, max_length=64,
                                  description="Zone for naive local times (IANA `Europe/Berlin` or `+01:00`); "
                                              "default: each household's own.")
    nonexistent: Literal["reject", "shift_forward", "shift_backward"] = Field(
        default="reject", description="A naive local time skipped by the clock change in spring.")
    ambiguous: Literal["reject", "earlier", "later"] = Field(
        default="reject", description="A naive local time repeated by the clock change in autumn.")
    interval_s: Count | None = Field(default=None, ge=1, le=86_400,
                                     description="Default interval [s] for power given for an energy quantity.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone_from_text(value)  # its ValueError says what is accepted
        return value

    # Rows are validated one by one in the view (a bad row must not sink the good ones), so the
    # body model only documents them.
    readings: SkipValidation[list[ReadingRow]] = Field(
        description=f"1 to {MAX_READINGS:,} readings. A reading's position (0-based) is its `line` in rejections.")


class RejectionOut(BaseModel):
    """A reading that was not stored, and why."""

    line: int | None = Field(description="Position of the reading in `readings` (0-based).")
    field: str = Field(description="The field at fault (`ts`, `value`, `unit`, `household_id` ...).")
    reason: str = Field(description="What is wrong and how to fix it.")


class IngestOut(BaseModel):
    """The batch report: what was received, stored and refused.

    With status 422 (some readings refused) it also carries `error`, as every 4xx answer of this
    API does, listing each refused reading as a field `readings.<line>.<field>`.
    """

    batch_id: int | None = Field(description="The batch as listed on the Data page.")
    status: Literal["done", "failed"]
    received: int = Field(ge=0)
    inserted: int = Field(ge=0, description="New (series, time) pairs.")
    updated: int = Field(ge=0, description="Existing pairs whose value changed.")
    unchanged: int = Field(ge=0, description="Readings the store already had with the same value.")
    rejected: int = Field(ge=0)
    duplicates: int = Field(ge=0, description="Readings repeated within the batch (the last one is kept).")
    stored_valid_readings: bool = Field(description="True: every valid reading of this request is stored, "
                                                    "also when others were refused.")
    message: str
    rejections: list[RejectionOut]
    error: ErrorBody | None = None


@api_route("POST", "/api/ingest/readings", response=IngestOut, body=IngestRequest, errors=[413, 503],
           also={422: "Some readings were refused; the valid ones are stored (see `rejections`)."},
           tags=["ingestion"])
def ingest_readings_api(body: IngestRequest):
    """Ingest a JSON batch of readings (partial success, idempotent).

    200: every reading is valid and stored. 422: some readings were refused, with a reason per
    reading in `rejections` (and in `error.fields`); the valid ones ARE stored, so re-send only the
    refused ones once fixed (re-sending everything is also safe). A 422 whose body has no
    `rejections` means the request itself is malformed and nothing was stored. 413: more than
    10,000 readings. 503: the store failed mid-batch and nothing was stored: retry after
    `Retry-After` seconds; the same batch converges to the same result. 403 for a viewer (role
    manager writes).
    """
    require_role("manager")
    rows = _row_list(body.readings)
    options = IngestOptions(timezone=body.timezone, nonexistent=body.nonexistent, ambiguous=body.ambiguous,
                            interval_s=body.interval_s)
    try:
        report = ingest_frame(batch_frame(rows), source=body.source, channel="api", options=options)
    except DataError as exc:  # the store refused a value that passed every check: retrying cannot help
        reason = printable(str(exc.orig).splitlines()[0])
        raise ApiError(422, f"The store refused a value of this batch, and nothing from it was stored: {reason}. "
                            "Fix that reading and send the batch again.") from None
    except (OperationalError, InterfaceError):  # the store is down or busy: the same batch will succeed
        raise ApiError(503, "The store failed while saving this batch, and nothing from it was stored. "
                            f"Retry in {RETRY_AFTER_S} seconds: sending the same batch again is safe.",
                       headers={"Retry-After": str(RETRY_AFTER_S)}) from None
    out = report_out(report)
    return (out, 422) if report.rejected else out


def _row_list(readings: Any) -> list:
    if not isinstance(readings, list):
        raise unprocessable([FieldError(field="readings", location="body",
                                        message="should be a JSON array of readings")])
    if not readings:
        raise unprocessable([FieldError(field="readings", location="body",
                                        message="is empty: send at least one reading")])
    if len(readings) > MAX_READINGS:
        raise ApiError(413, f"{len(readings):,} readings in one request is more than the {MAX_READINGS:,} "
                            "allowed: split them into several requests, or upload a file on the Data page "
                            "(or `flask --app app ingest FILE`) for a back-fill.")
    return readings


def batch_frame(rows: list) -> pd.DataFrame:
    """The core's batch frame from the JSON rows; a row that does not fit :class:`ReadingRow` goes in
    with a ``problem`` (its first error), so that the core refuses and records it with the rest."""
    records = []
    for line, raw in enumerate(rows):
        record: dict[str, Any] = {"line": line, "problem": None, "problem_field": None}
        try:
            row = ReadingRow.model_validate(raw)
            record.update(row.model_dump())
        except ValidationError as exc:
            first = invalid_fields(exc, "body")[0]
            record.update({k: _excerpt(k, raw.get(k)) for k in ("household_id", "series", "quantity", "ts", "value",
                                                                 "unit")} if isinstance(raw, dict) else {})
            record["problem_field"] = first.field.split(".")[0] if first.field != "(whole body)" else ""
            record["problem"] = (f"{first.field} {first.message}" if record["problem_field"]
                                 else "each reading should be a JSON object")
        records.append(record)
    columns = ["household_id", "series", "quantity", "ts", "value", "unit", "line", "device_id", "cumulative",
               "interval_s", "problem", "problem_field"]
    frame = pd.DataFrame.from_records(records, columns=columns)
    return frame.astype({c: object for c in columns if c != "line"})


def _excerpt(key: str, value: Any) -> Any:
    """What a refused row keeps of a raw field, for its rejection: plain scalars as they are, text made
    printable, anything else (an object, a list, an id out of range) as a short JSON excerpt, or none."""
    if key == "household_id":  # the core looks it up: only a possible id
        return value if type(value) is int and 1 <= value <= INT32_MAX else None
    if isinstance(value, str):
        return printable(value)[:200]
    if value is None or type(value) is float or (type(value) is int and abs(value) <= 2**53):
        return value
    return json.dumps(value, ensure_ascii=True)[:80]


def report_out(report: IngestReport) -> IngestOut:
    """The response body for ``report``."""
    rejections = [RejectionOut(line=r.line, field=r.field, reason=r.reason) for r in report.rejections]
    if report.rejected:
        stored = report.inserted + report.updated + report.unchanged
        message = (f"{report.rejected} of {report.received} readings were refused (see rejections); the "
                   f"{stored} valid ones are stored. Fix the refused ones and send them again.")
        error = ErrorBody(
            status=422, title="Unprocessable Content", detail=message,
            fields=[FieldError(field=f"readings.{r.line}.{r.field}" if r.field else f"readings.{r.line}",
                               location="body", message=r.reason) for r in report.rejections],
        )
    else:
        message, error = f"All {report.received} readings are stored: {report.summary()}.", None
    return IngestOut(
        batch_id=report.batch_id, status=report.status, received=report.received, inserted=report.inserted,
        updated=report.updated, unchanged=report.unchanged, rejected=report.rejected, duplicates=report.duplicates,
        stored_valid_readings=report.status == "done", message=message, rejections=rejections, error=error,
    )
