"""How to read a source's files, saved per source (``ingestion_mappings``) and reused.

A mapping says where time is (a column and its format or time zone, or "no time column:
the first row starts at ... and rows are ... seconds apart"), the layout (``wide``: one column
per series; ``long``: a series column and a value column), and for every series its stored
name, quantity, unit and scale.

Example, the CityLearn homes (wide, no time column, PV in W per kW of installed PV)::

    Mapping(name="citylearn", layout="wide",
            time=TimeSpec(start="2016-07-31T23:00:00-08:00", step_s=3600),
            columns=[ColumnSpec(column="non_shiftable_load", series="load", quantity="load", unit="kWh"),
                     ColumnSpec(column="solar_generation", series="pv", quantity="pv", unit="Wh",
                                per_kwp=True)])

Saved mappings belong to an organisation (names are unique in it): a caller (``scope``, None: the
current one) saves, loads, lists and deletes those of :func:`~services.access.owner_id`, its own
organisation (the default one for the system). Saving and deleting need role manager and are
recorded in the audit log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from services import access
from services.access import AccessScope
from services.auth import record
from services.ingestion.timestamps import zone_from_text
from services.ingestion.types import IngestOptions
from services.ingestion.units import UnitError, conversion_for
from services.store.db import session_scope
from services.store.models import IngestionMapping
from services.store.models.readings import QUANTITY_UNITS
from services.text_checks import SingleLine


class ColumnSpec(BaseModel):
    """One series of the file.

    ``column`` is the header of its value column (wide) or its name in the series column (long).
    The value read is multiplied by ``scale`` (and by the household's PV peak power [kWp] when
    ``per_kwp``), then converted from ``unit`` to the stored unit of ``quantity``. A power unit
    for an energy quantity needs ``interval_s`` (average power over that many seconds).
    """

    model_config = ConfigDict(extra="forbid")

    column: str = Field(min_length=1)
    series: SingleLine | None = Field(default=None, description="stored series name; default: the column")
    quantity: str
    unit: str
    scale: float = 1.0
    per_kwp: bool = False
    interval_s: int | None = Field(default=None, gt=0)
    cumulative: bool = False
    household_id: int | None = Field(default=None, description="overrides the mapping's household")

    @field_validator("quantity")
    @classmethod
    def _known_quantity(cls, value: str) -> str:
        if value not in QUANTITY_UNITS:
            raise ValueError(f"unknown quantity {value!r}: use one of {', '.join(QUANTITY_UNITS)}")
        return value

    @model_validator(mode="after")
    def _unit_fits(self) -> ColumnSpec:
        try:
            conversion = conversion_for(self.quantity, self.unit)
        except UnitError as exc:
            raise ValueError(f"column {self.column!r}: {exc}") from None
        if conversion.per_interval and not self.interval_s:
            raise ValueError(f"column {self.column!r} gives {self.quantity} as a power in {self.unit}: set "
                             "interval_s (seconds each value averages over) to turn it into kWh")
        if self.scale == 0:
            raise ValueError(f"column {self.column!r}: a scale of 0 would store only zeros")
        return self

    @property
    def series_name(self) -> str:
        return self.series or self.column


class TimeSpec(BaseModel):
    """Where the time of each row comes from.

    Either ``column`` (with ``format``: a ``strptime`` pattern, ``'epoch_s'``, ``'epoch_ms'``, or
    None for ISO 8601 / Unix seconds) or, for files without one, ``start`` (the first row's time,
    ISO 8601 with its offset) and ``step_s``. ``timezone`` reads naive times (IANA or ``UTC-08:00``);
    None uses the household's zone. ``nonexistent``/``ambiguous`` resolve DST gaps and folds.
    """

    model_config = ConfigDict(extra="forbid")

    column: str | None = None
    format: str | None = None
    timezone: str | None = None
    start: str | None = None
    step_s: int | None = Field(default=None, gt=0)
    nonexistent: Literal["reject", "shift_forward", "shift_backward"] = "reject"
    ambiguous: Literal["reject", "earlier", "later"] = "reject"

    @model_validator(mode="after")
    def _one_source_of_time(self) -> TimeSpec:
        if self.timezone:
            try:
                zone_from_text(self.timezone)
            except ValueError as exc:
                raise ValueError(str(exc)) from None
        if self.column:
            if self.start or self.step_s:
                raise ValueError("give either a timestamp column or a start time with a step, not both")
            return self
        if not (self.start and self.step_s):
            raise ValueError("without a timestamp column, give the first row's start time and the step in "
                             "seconds (e.g. start '2016-07-31T23:00:00-08:00', step_s 3600)")
        try:
            start = datetime.fromisoformat(self.start)
        except ValueError:
            raise ValueError(f"start {self.start!r} is not an ISO 8601 time like 2016-07-31T23:00:00-08:00") from None
        if start.tzinfo is None and not self.timezone:
            raise ValueError(f"start {self.start!r} has no UTC offset: add one (…-08:00) or set the time zone")
        return self


class Mapping(BaseModel):
    """How to read one source's files (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    name: SingleLine = Field(min_length=1, max_length=120)
    layout: Literal["wide", "long"] = "wide"
    household_id: int | None = None
    time: TimeSpec
    columns: list[ColumnSpec] = Field(min_length=1)
    series_column: str | None = None
    value_column: str | None = None
    unit_column: str | None = None
    separator: str | None = Field(default=None, description="CSV; None: sniffed")
    decimal: str | None = Field(default=None, description="CSV; None: sniffed")
    sheet: str | None = Field(default=None, description="Excel sheet; None: the first")

    @model_validator(mode="after")
    def _layout_complete(self) -> Mapping:
        if self.layout == "long" and not (self.series_column and self.value_column):
            raise ValueError("a long file needs series_column and value_column (e.g. 'series' and 'value')")
        keys = [c.column for c in self.columns]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise ValueError(f"column(s) {', '.join(repeated)} are mapped twice: map each once")
        return self

    def options(self, **overrides) -> IngestOptions:
        """Ingest options that read times as this mapping says."""
        fmt = self.time.format if self.time.column else None
        return IngestOptions(timezone=self.time.timezone, nonexistent=self.time.nonexistent,
                             ambiguous=self.time.ambiguous, ts_format=fmt,
                             mapping_name=self.name, **overrides)


def mapping_from_dict(spec: dict) -> Mapping:
    """A mapping from JSON-like data.

    Raises
    ------
    ValueError
        One line per problem, naming the field (``columns.1.unit: ...``).
    """
    try:
        return Mapping.model_validate(spec)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            lines.append(f"{where}: {message}" if where else message)
        raise ValueError("the mapping is not valid:\n" + "\n".join(lines)) from None


def save_mapping(mapping: Mapping, *, scope: AccessScope | None = None) -> int:
    """Save (or replace) a mapping of the caller's organisation under its name; returns its id.
    Raises :class:`~services.access.Forbidden` below manager."""
    scope = access.require_role("manager", scope)
    spec = mapping.model_dump(mode="json", exclude_none=True)
    with session_scope() as session:
        row = session.execute(_named(mapping.name, scope)).scalar_one_or_none()
        before = None if row is None else _audited(row.spec)
        if row is None:
            row = IngestionMapping(organisation_id=access.owner_id(scope), name=mapping.name, spec=spec)
            session.add(row)
        else:
            row.spec = spec
        session.flush()
        mapping_id = row.id
    record(scope, "mapping.save", f"mapping:{mapping.name}", before, _audited(spec))
    return mapping_id


def load_mapping(name: str, *, scope: AccessScope | None = None) -> Mapping:
    """The caller's organisation's saved mapping called ``name``.

    Raises
    ------
    LookupError
        When there is none, listing the saved names.
    """
    with session_scope() as session:
        row = session.execute(_named(name, scope)).scalar_one_or_none()
        spec = None if row is None else row.spec
    if spec is None:
        names = mapping_names(scope=scope)
        known = f"saved mappings: {', '.join(names)}" if names else "no mapping is saved yet"
        raise LookupError(f"no mapping called {name!r} ({known}); save one first (flask --app app mapping-save)")
    return mapping_from_dict(spec)


def mapping_names(*, scope: AccessScope | None = None) -> list[str]:
    """Names of the caller's organisation's saved mappings, alphabetically."""
    with session_scope() as session:
        return list(session.execute(sa.select(IngestionMapping.name).where(_own(scope))
                                    .order_by(IngestionMapping.name)).scalars())


def delete_mapping(name: str, *, scope: AccessScope | None = None) -> bool:
    """Delete a saved mapping of the caller's organisation; False when there was none.
    Raises :class:`~services.access.Forbidden` below manager."""
    scope = access.require_role("manager", scope)
    with session_scope() as session:
        result = session.execute(sa.delete(IngestionMapping).where(_own(scope), IngestionMapping.name == name))
        deleted = result.rowcount > 0
    if deleted:
        record(scope, "mapping.delete", f"mapping:{name}", {"name": name}, None)
    return deleted


def _own(scope: AccessScope | None) -> sa.ColumnElement[bool]:
    return IngestionMapping.organisation_id == access.owner_id(scope)


def _named(name: str, scope: AccessScope | None) -> sa.Select:
    return sa.select(IngestionMapping).where(_own(scope), IngestionMapping.name == name)


def _audited(spec: dict) -> dict:
    """What an audit entry keeps of a mapping: its layout, household and mapped columns."""
    return {"layout": spec.get("layout"), "household_id": spec.get("household_id"),
            "columns": sorted(str(c.get("column")) for c in spec.get("columns", []) if isinstance(c, dict))}
