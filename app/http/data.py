"""``/v1/data/{collection}/records`` (GET: list, ``filter`` a JSON query parameter, ``first``, ``after``;
POST: create) and ``/v1/data/{collection}/records/{id}`` (GET, PUT, DELETE): the data collections of a
flow step's own workspace, with ``Authorization: Bearer <step token>``, while the attempt runs.

Answers: 200 (201 created, 204 deleted); 401 no or bad token; 409 the attempt is over (or a stale
``expectedRevision`` on PUT: ``{"data": …, "expectedRevision": n}``; a bare object replaces the data);
404 no such collection or record in the token's workspace (another workspace's look the same); 400 a
record the schema refuses (``fields`` name the paths), a bad filter or JSON; 413 a body over the limit.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app import errors
from app.domain.data_collections import DataRecord
from app.domain.flows.steps import DATA_PATH
from app.services.container import Services
from app.services.data_collections import DataActor, DataService, decode_json, record_cursor

PREFIX = DATA_PATH
RECORDS = PREFIX + "/{collection}/records"
RECORD = RECORDS + "/{id}"
_STATUS = {
    errors.Unauthenticated.code: 401,
    errors.Conflict.code: 409,
    errors.NotFound.code: 404,
    errors.Invalid.code: 400,
    errors.Forbidden.code: 404,
}


class BodyTooLarge(errors.Invalid):
    """The request body is larger than the record limit allows."""


def _refusal(exc: errors.TrellisError) -> JSONResponse:
    status = 413 if isinstance(exc, BodyTooLarge) else _STATUS.get(exc.code, 400)
    headers = {"WWW-Authenticate": 'Bearer realm="trellis-steps"'} if status == 401 else None
    return JSONResponse(
        {"error": {**exc.extensions(), "message": exc.message}}, status_code=status, headers=headers
    )


def record_json(record: DataRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "collection": record.collection,
        "data": record.data,
        "revision": record.revision,
        "createdAt": record.created_at.isoformat(),
        "updatedAt": record.updated_at.isoformat(),
    }


async def _body(request: Request, data: DataService) -> Any:
    limit = data.max_record_bytes + 1024  # room for the envelope of a PUT
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge.field("body", f"is larger than the limit of {limit} bytes")
    try:
        return decode_json(body.decode(), "body")
    except UnicodeDecodeError as exc:
        raise errors.Invalid.field("body", "is not UTF-8 JSON") from exc


async def _actor(request: Request) -> tuple[DataService, DataActor, str]:
    data = _services(request).data
    actor = await data.step_actor(request.headers.get("authorization", ""))
    workspace_id = next(iter(actor.scope.workspace_ids))
    return data, actor, workspace_id


def _services(request: Request) -> Services:
    services: Services = request.state.services
    return services


async def records(request: Request) -> Response:
    collection = request.path_params["collection"]
    try:
        data, actor, workspace_id = await _actor(request)
        if request.method == "POST":
            created = await data.create_record(actor, workspace_id, collection, await _body(request, data))
            return JSONResponse(record_json(created), status_code=201)
        raw_filter = request.query_params.get("filter")
        where = decode_json(raw_filter, "filter") if raw_filter else None
        raw_first = request.query_params.get("first")
        try:
            first = int(raw_first) if raw_first is not None else None
        except ValueError as exc:
            raise errors.Invalid.field("first", "is not a number") from exc
        page = await data.records(
            actor, workspace_id, collection, where, first, request.query_params.get("after")
        )
    except errors.TrellisError as exc:
        return _refusal(exc)
    return JSONResponse(
        {
            "records": [record_json(r) for r in page.items],
            "hasNextPage": page.has_next,
            "endCursor": record_cursor(page.items[-1]) if page.items else None,
            "totalCount": page.total,
        }
    )


async def record(request: Request) -> Response:
    collection = request.path_params["collection"]
    record_id = request.path_params["id"]
    try:
        data, actor, _ = await _actor(request)
        if request.method == "GET":
            return JSONResponse(record_json(await data.record(actor, record_id, collection)))
        if request.method == "DELETE":
            await data.delete_record(actor, record_id, collection)
            return Response(status_code=204)
        body = await _body(request, data)
        expected = None
        if isinstance(body, dict) and set(body) == {"data", "expectedRevision"}:
            expected = body["expectedRevision"]
            if not isinstance(expected, int) or isinstance(expected, bool):
                raise errors.Invalid.field("expectedRevision", "must be an integer")
            body = body["data"]
        updated = await data.update_record(actor, record_id, body, expected, collection)
    except errors.TrellisError as exc:
        return _refusal(exc)
    return JSONResponse(record_json(updated))


def routes() -> list[Route]:
    return [
        Route(RECORDS, records, methods=["GET", "POST"]),
        Route(RECORD, record, methods=["GET", "PUT", "DELETE"]),
    ]
