"""What both backends share about Git imports: the document form and the messages of their errors.

The analysis is a nested document (a canvas, problems, Secret key names — never values); SQLite keeps
it, the options, the log and the candidates as JSON text, MongoDB keeps the analysis as JSON text too
(node data is free-form, see :mod:`app.store.mongo.documents`) and the rest as nested documents.

The analysis's Secret values are kept beside the import, never in it: one keyring ciphertext in the
:data:`SECRET_VALUES_FIELD` column or field, written by ``save_import``, read only by
``import_secret_values`` and rewritten by ``reencrypt``; no read of the import itself returns it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from app.domain.imports import (
    GitImport,
    ImportAnalysis,
    ImportLogLine,
    ImportOptions,
    ImportProblem,
    ImportSource,
    ImportStatus,
)
from app.errors import Conflict
from app.store.codec import (
    Document,
    canvas_from_doc,
    canvas_to_doc,
    decode_datetime,
    encode_datetime,
)

IMPORT_ID_TAKEN = "an import with this id already exists"
SECRET_VALUES_FIELD = "secret_values_ciphertext"

UNFINISHED_IMPORT_STATUSES: tuple[str, ...] = tuple(s.value for s in ImportStatus if not s.finished)

# The fields save_import rewrites; the identity of an import (id, workspace, who, what was asked for,
# when) never changes.
SAVED_IMPORT_FIELDS = (
    "status",
    "percent",
    "logs",
    "error",
    "message",
    "candidates",
    "commit_sha",
    "analysis",
    "updated_at",
    "revision",
)


def finished_import_conflict(job: GitImport, status: str) -> Conflict:
    """``save_import`` met an import the store already holds as finished (a finished import is final)."""
    return Conflict(
        f"import {job.id!r} is already {status} and cannot be changed",
        details={"importId": job.id, "status": status},
    )


def stale_failed(job: GitImport, *, at: datetime, reason: str) -> GitImport:
    """``job`` as ``fail_stale_imports`` leaves it: FAILED with ``reason``, logged."""
    return replace(
        job.logged(ImportLogLine(at, "ERROR", reason)),
        status=ImportStatus.FAILED,
        error=reason,
        updated_at=at,
        revision=job.revision + 1,
    )


def _problem_to_doc(problem: ImportProblem) -> Document:
    return {
        "code": problem.code,
        "message": problem.message,
        "service": problem.service,
        "field": problem.field,
    }


def _problem_from_doc(doc: Mapping[str, Any]) -> ImportProblem:
    return ImportProblem(doc["code"], doc["message"], doc.get("service"), doc.get("field"))


def analysis_to_doc(analysis: ImportAnalysis) -> Document:
    return {
        "source": analysis.source.value,
        "folder": analysis.folder,
        "files": list(analysis.files),
        "services": list(analysis.services),
        "volumes": list(analysis.volumes),
        "networks": list(analysis.networks),
        "configs": list(analysis.configs),
        "secrets": list(analysis.secrets),
        "canvas": canvas_to_doc(analysis.canvas),
        "secret_keys": {node: list(keys) for node, keys in analysis.secret_keys.items()},
        "warnings": [_problem_to_doc(p) for p in analysis.warnings],
        "errors": [_problem_to_doc(p) for p in analysis.errors],
    }


def analysis_from_doc(doc: Mapping[str, Any]) -> ImportAnalysis:
    return ImportAnalysis(
        source=ImportSource(doc["source"]),
        folder=doc["folder"],
        files=tuple(doc.get("files") or ()),
        services=tuple(doc.get("services") or ()),
        volumes=tuple(doc.get("volumes") or ()),
        networks=tuple(doc.get("networks") or ()),
        configs=tuple(doc.get("configs") or ()),
        secrets=tuple(doc.get("secrets") or ()),
        canvas=canvas_from_doc(doc.get("canvas") or {}),
        secret_keys={node: tuple(keys) for node, keys in (doc.get("secret_keys") or {}).items()},
        warnings=tuple(_problem_from_doc(p) for p in doc.get("warnings") or ()),
        errors=tuple(_problem_from_doc(p) for p in doc.get("errors") or ()),
    )


def import_to_doc(job: GitImport) -> Document:
    return {
        "id": job.id,
        "workspace_id": job.workspace_id,
        "created_by": job.created_by,
        "url": job.url,
        "ref": job.ref,
        "path": job.path,
        "options": {"profiles": list(job.options.profiles), "namespace": job.options.namespace},
        "status": job.status.value,
        "percent": job.percent,
        "logs": [
            {"at": encode_datetime(line.at), "level": line.level, "message": line.message}
            for line in job.logs
        ],
        "error": job.error,
        "message": job.message,
        "candidates": list(job.candidates),
        "commit_sha": job.commit,
        "analysis": None if job.analysis is None else analysis_to_doc(job.analysis),
        "created_at": encode_datetime(job.created_at),
        "updated_at": encode_datetime(job.updated_at),
        "revision": job.revision,
    }


def import_from_doc(doc: Mapping[str, Any]) -> GitImport:
    options = doc.get("options") or {}
    analysis = doc.get("analysis")
    return GitImport(
        id=doc["id"],
        workspace_id=doc["workspace_id"],
        created_by=doc["created_by"],
        url=doc["url"],
        ref=doc.get("ref"),
        path=doc.get("path"),
        options=ImportOptions(
            profiles=tuple(options.get("profiles") or ()), namespace=options.get("namespace")
        ),
        status=ImportStatus(doc["status"]),
        percent=int(doc.get("percent") or 0),
        logs=tuple(
            ImportLogLine(decode_datetime(line["at"]), line["level"], line["message"])
            for line in doc.get("logs") or ()
        ),
        error=doc.get("error"),
        message=doc.get("message"),
        candidates=tuple(doc.get("candidates") or ()),
        commit=doc.get("commit_sha"),
        analysis=None if analysis is None else analysis_from_doc(analysis),
        created_at=decode_datetime(doc["created_at"]),
        updated_at=decode_datetime(doc["updated_at"]),
        revision=int(doc.get("revision") or 0),
    )
