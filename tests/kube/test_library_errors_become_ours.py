"""translate(): statuses and network errors the test server cannot easily produce (DNS, a proxy's
HTML 502, AlreadyExists, several apply conflicts, 400 with causes) map as the table says."""

from __future__ import annotations

import errno
import json
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from app import errors
from app.kube.errors import (
    KubeApplyConflict,
    KubeConflict,
    KubeInvalid,
    KubeNotFound,
    KubeServerError,
    KubeUnreachable,
    Target,
    translate,
    translating,
)

SERVER = "https://k8s.example:6443"


def _api_exception(status: int, body: Any, reason: str = "") -> ApiException:
    exc = ApiException(status=status, reason=reason)
    exc.body = body if isinstance(body, str) else json.dumps(body)
    return exc


def _status(code: int, reason: str, message: str, **details: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def test_already_exists_is_a_plain_conflict_with_reason() -> None:
    exc = _api_exception(409, _status(409, "AlreadyExists", 'configmaps "c" already exists', name="c"))
    err = translate(exc, server=SERVER)
    assert type(err) is KubeConflict and isinstance(err, errors.Conflict)
    assert err.message == 'configmaps "c" already exists'
    assert err.details == {"reason": "AlreadyExists", "causes": []}


def test_several_apply_conflicts_name_every_manager_and_field() -> None:
    causes = [
        {"reason": "FieldManagerConflict", "message": 'conflict with "helm"', "field": ".spec.replicas"},
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "kubectl" using apps/v1',
            "field": ".spec.paused",
        },
        {"reason": "FieldManagerConflict", "message": 'conflict with "helm"', "field": ".metadata.labels.x"},
    ]
    exc = _api_exception(409, _status(409, "Conflict", "Apply failed with 3 conflicts: ...", causes=causes))
    err = translate(exc, server=SERVER, target=Target("Deployment", "web", "shop"))
    assert isinstance(err, KubeApplyConflict)
    assert err.managers == ("helm", "kubectl")
    assert err.fields == (".spec.replicas", ".spec.paused", ".metadata.labels.x")
    assert err.message.startswith(
        'Deployment shop/web: 3 fields owned by another field manager ("helm", "kubectl")'
    )
    assert err.details["managers"] == ["helm", "kubectl"]
    assert [c["field"] for c in err.details["causes"]] == [
        ".spec.replicas",
        ".spec.paused",
        ".metadata.labels.x",
    ]
    assert err.api_message == "Apply failed with 3 conflicts: ..."


def test_bad_request_keeps_the_message_and_causes() -> None:
    causes = [{"reason": "FieldValueInvalid", "message": "Invalid value: -1", "field": "spec.replicas"}]
    exc = _api_exception(400, _status(400, "BadRequest", "the object is wrong", causes=causes))
    err = translate(exc, server=SERVER)
    assert isinstance(err, KubeInvalid) and isinstance(err, errors.Invalid)
    assert err.message == "the object is wrong"
    assert [(f.path, f.message) for f in err.fields] == [("spec.replicas", "Invalid value: -1")]


def test_not_found_names_the_target() -> None:
    exc = _api_exception(
        404, _status(404, "NotFound", 'deployments.apps "web" not found', name="web", kind="deployments")
    )
    err = translate(exc, server=SERVER, target=Target("Deployment", "web", "shop"))
    assert isinstance(err, KubeNotFound) and err.message == "Deployment 'shop/web' was not found"
    assert err.api_message == 'deployments.apps "web" not found'


def test_a_proxys_html_answer_is_unavailable() -> None:
    exc = _api_exception(502, "<html><body>Bad Gateway</body></html>", reason="Bad Gateway")
    err = translate(exc, server=SERVER)
    assert isinstance(err, KubeServerError) and isinstance(err, errors.Unavailable)
    assert (
        err.message
        == f"the cluster at {SERVER} answered 502 Bad Gateway: <html><body>Bad Gateway</body></html>"
    )


def test_other_client_errors_are_invalid() -> None:
    exc = _api_exception(405, _status(405, "MethodNotAllowed", "the server does not allow this method"))
    err = translate(exc, server=SERVER)
    assert isinstance(err, KubeInvalid)
    assert (
        err.message
        == "the cluster refused the request (405 MethodNotAllowed): the server does not allow this method"
    )


def test_dns_failure_is_unreachable() -> None:
    key = SimpleNamespace(host="k8s.example", port=6443, ssl=True)
    exc = aiohttp.ClientConnectorDNSError(key, OSError(-2, "Name or service not known"))  # type: ignore[arg-type]
    err = translate(exc, server=SERVER)
    assert isinstance(err, KubeUnreachable)
    assert err.message == f"cannot reach {SERVER}: its host name does not resolve (Name or service not known)"


def test_network_errors_are_unreachable() -> None:
    assert translate(aiohttp.ServerDisconnectedError(), server=SERVER).message == (
        f"cannot reach {SERVER}: the server closed the connection"
    )
    reset = translate(ConnectionResetError(errno.ECONNRESET, "reset"), server=SERVER)
    assert isinstance(reset, KubeUnreachable) and reset.message == f"cannot reach {SERVER}: connection reset"


def test_translating_chains_the_cause_and_lets_our_own_bugs_through() -> None:
    with pytest.raises(KubeUnreachable) as caught, translating(SERVER):
        raise aiohttp.ServerDisconnectedError()
    assert isinstance(caught.value.__cause__, aiohttp.ServerDisconnectedError)
    with pytest.raises(KeyError), translating(SERVER):
        raise KeyError("a bug stays a bug")
