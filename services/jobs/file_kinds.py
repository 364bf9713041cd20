"""Jobs that take or give a file: many households' reports, and the ingestion of an uploaded file.

Both files travel by id through the store (:mod:`services.jobs.files`): the page saves the upload
and passes its id; the report job saves its file and returns its id for the page to download.
"""

from __future__ import annotations

from datetime import date

from services.access import AccessScope, visible_household_ids
from services.jobs.files import read_file, save_file
from services.jobs.kinds import JobKind, JobOutput, Progress

#: Rows per chunk when ingesting an upload: progress moves once a chunk.
INGEST_CHUNK_ROWS = 20_000
#: Rejections a job's summary carries for the page (all are kept with the batch).
SUMMARY_REJECTIONS = 10


def _report(params: dict, scope: AccessScope, progress: Progress) -> JobOutput:
    """``params``: ``fmt``, ``households`` (ids), ``kind``, ``start`` and ``end`` (ISO dates)."""
    from services.reports import RendererUnavailable, ReportInputError, ReportPeriod, build_report_file

    chosen = [int(h) for h in params.get("households") or []]
    if not set(chosen) <= set(visible_household_ids()):
        raise ReportInputError("A chosen household is not available any more (deleted meanwhile?): reload the page.")
    period = ReportPeriod(params["kind"], date.fromisoformat(params["start"]), date.fromisoformat(params["end"]))
    try:
        file = build_report_file(params["fmt"], chosen, period, progress=progress)
    except RendererUnavailable as exc:
        raise ValueError(str(exc)) from None
    file_id = save_file(file.filename, file.content, file.mimetype)
    return JobOutput({"filename": file.filename, "size_bytes": len(file.content), "households": file.households,
                      "skipped": list(file.skipped)}, file_id=file_id)


def _ingest_upload(params: dict, scope: AccessScope, progress: Progress) -> JobOutput:
    """``params``: ``file_id`` (the stored upload), ``mapping`` (a mapping spec as the Data page
    builds it) and ``file_kind`` (``csv``, ``xlsx``...). One batch: a cancel or an error mid-file
    stores nothing of it."""
    from services.ingestion.core import ingest_frames
    from services.ingestion.files import frames_from_file
    from services.ingestion.mapping import mapping_from_dict

    upload = read_file(int(params["file_id"]))
    mapping = mapping_from_dict(params["mapping"])
    data = upload.content
    total = max(data.count(b"\n") - 1, 1) if params.get("file_kind") == "csv" else None
    progress(0, 1, "reading")

    def with_progress(frames):
        done = 0
        for frame in frames:
            yield frame
            done += int(frame["line"].nunique()) if "line" in frame else len(frame)
            if total:
                progress(min(done, total), total, f"{done:,} rows read")
            else:
                progress(1, 2, f"{done:,} rows read")

    frames = frames_from_file(data, mapping, filename=upload.filename, chunk_rows=INGEST_CHUNK_ROWS)
    report = ingest_frames(with_progress(frames), source=upload.filename, channel="file", options=mapping.options())
    return JobOutput(report.as_result(SUMMARY_REJECTIONS))


FILE_KINDS: dict[str, JobKind] = {k.name: k for k in (
    JobKind("report", "Reports", _report),
    JobKind("ingest_upload", "File ingestion", _ingest_upload),
)}
