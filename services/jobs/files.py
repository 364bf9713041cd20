"""Files that jobs take (uploads) and give (reports), kept in the store and passed by id.

A worker may run on another machine than the web server, and a broker is no place for
megabytes: the page saves the upload here and hands the job its id; the job saves its report
here and the page downloads it by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from services import access
from services.access import AccessScope
from services.store.db import session_scope
from services.store.models import JobFile, utcnow

#: Files older than this are removed by the sweep schedule.
KEEP_FILES = timedelta(days=7)


@dataclass(frozen=True)
class StoredFile:
    id: int
    filename: str
    mimetype: str
    content: bytes


def save_file(filename: str, content: bytes, mimetype: str = "application/octet-stream",
              scope: AccessScope | None = None) -> int:
    """Keep ``content`` in the store as the caller's; returns the file's id."""
    scope = access.resolve(scope)
    with session_scope() as session:
        row = JobFile(filename=filename[:255], mimetype=mimetype, size_bytes=len(content), content=content,
                      created_at=utcnow(), organisation_id=scope.organisation_id, user_id=scope.user_id)
        session.add(row)
        session.flush()
        return row.id


def read_file(file_id: int, scope: AccessScope | None = None) -> StoredFile:
    """The file ``file_id``; LookupError (with what to do) when it is gone or not the caller's to
    read: files are read by whoever saved them, their organisation's admins and the system."""
    scope = access.resolve(scope)
    with session_scope() as session:
        row = session.get(JobFile, int(file_id))
        if row is None or not _may_read(row, scope):
            raise LookupError(f"file {file_id} is no longer kept (files are kept {KEEP_FILES.days} days): "
                              "upload or build it again")
        return StoredFile(row.id, row.filename, row.mimetype, row.content)


def _may_read(row: JobFile, scope: AccessScope) -> bool:
    if scope.is_system:
        return True
    if row.organisation_id != scope.organisation_id:
        return False
    return scope.can("admin") or (row.user_id, row.organisation_id) == (scope.user_id, scope.organisation_id)


def delete_old_files(now: datetime | None = None) -> int:
    """Remove files older than :data:`KEEP_FILES`; how many were removed."""
    cutoff = (now or utcnow()) - KEEP_FILES
    with session_scope() as session:
        return session.execute(sa.delete(JobFile).where(JobFile.created_at < cutoff)).rowcount
