"""Pod logs: per-container buffers fed by tests and GET .../pods/<name>/log (tailLines, follow, ...)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import PlainTextResponse, Response, StreamingResponse

from . import errors
from .objects import ObjectApi
from .params import flag
from .store import Event

WAITING_MESSAGES = {
    "ImagePullBackOff": "trying and failing to pull image",
    "ErrImagePull": "trying and failing to pull image",
    "InvalidImageName": "image can't be pulled",
}


@dataclass
class LogLine:
    time: datetime
    text: str

    def render(self, timestamps: bool) -> str:
        if not timestamps:
            return self.text + "\n"
        stamp = self.time.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
        return f"{stamp} {self.text}\n"


@dataclass
class ContainerLog:
    lines: list[LogLine] = field(default_factory=list)
    previous: list[LogLine] = field(default_factory=list)
    ended: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()


class PodLogs:
    def __init__(self) -> None:
        self._logs: dict[tuple[str, str, str], ContainerLog] = {}

    def log(self, namespace: str, pod: str, container: str) -> ContainerLog:
        return self._logs.setdefault((namespace, pod, container), ContainerLog())

    def append(
        self,
        namespace: str,
        pod: str,
        container: str,
        line: str,
        *,
        time: datetime | None = None,
        previous: bool = False,
    ) -> None:
        log = self.log(namespace, pod, container)
        target = log.previous if previous else log.lines
        for text in line.splitlines() or [""]:
            target.append(LogLine(time or datetime.now(UTC), text))
        log.notify()

    def end(self, namespace: str, pod: str, container: str | None = None) -> None:
        if container is not None:
            self.log(namespace, pod, container)  # a container that stopped without a line ends too
        for (ns, name, cname), log in self._logs.items():
            if ns == namespace and name == pod and container in (None, cname):
                log.ended = True
                log.notify()

    def restart(self, namespace: str, pod: str, container: str) -> None:
        """A container restart: followers of the old instance end; its lines become ``previous``."""
        old = self.log(namespace, pod, container)
        old.ended = True
        old.notify()
        self._logs[(namespace, pod, container)] = ContainerLog(previous=old.lines)

    def on_event(self, event: Event) -> None:
        if event.rt.kind == "Pod" and event.type == "DELETED":
            meta = event.obj["metadata"]
            self.end(meta.get("namespace", ""), meta["name"])
            for key in [k for k in self._logs if k[:2] == (meta.get("namespace", ""), meta["name"])]:
                self._logs.pop(key)

    def close_all(self) -> None:
        for log in self._logs.values():
            log.ended = True
            log.notify()


def _container_names(pod: dict[str, Any], key: str) -> list[str]:
    return [c.get("name", "") for c in (pod.get("spec") or {}).get(key) or []]


def _waiting_reason(pod: dict[str, Any], container: str) -> str | None:
    status = pod.get("status") or {}
    for entry in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if entry.get("name") == container:
            if (entry.get("lastState") or {}).get("terminated"):
                return None
            waiting = (entry.get("state") or {}).get("waiting")
            if waiting:
                reason = str(waiting.get("reason", "ContainerCreating"))
                return WAITING_MESSAGES.get(reason, reason)
            return None
    return "ContainerCreating"


async def serve_log(
    api: ObjectApi, logs: PodLogs, namespace: str, name: str, query: dict[str, str]
) -> Response:
    pods = api.registry.lookup("Pod")
    pod = api.live(pods, namespace, name)
    containers = _container_names(pod, "containers")
    init = _container_names(pod, "initContainers")
    container = query.get("container")
    if not container:
        if len(containers) != 1:
            message = (
                f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
            )
            if init:
                message += f" or one of the init containers: [{' '.join(init)}]"
            raise errors.bad_request(message)
        container = containers[0]
    elif container not in containers + init + _container_names(pod, "ephemeralContainers"):
        raise errors.bad_request(f"container {container} is not valid for pod {name}")
    if not (pod.get("spec") or {}).get("nodeName"):
        raise errors.bad_request(f"pod {name} does not have a host assigned")
    log = logs.log(namespace, name, container)
    previous = flag(query, "previous")
    if previous:
        if not log.previous:
            raise errors.bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
        lines = list(log.previous)
    else:
        lines = list(log.lines)
        reason = _waiting_reason(pod, container)
        if not lines and reason is not None:
            raise errors.bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
    timestamps = flag(query, "timestamps")
    since = query.get("sinceSeconds")
    cutoff = datetime.now(UTC) - timedelta(seconds=int(since)) if since else None
    if cutoff is not None:
        lines = [line for line in lines if line.time >= cutoff]
    tail = query.get("tailLines")
    if tail is not None:
        lines = lines[-int(tail) :] if int(tail) > 0 else []
    limit = int(query["limitBytes"]) if query.get("limitBytes") else None
    text = "".join(line.render(timestamps) for line in lines)
    if limit is not None:
        text = text[:limit]
    if not flag(query, "follow") or previous:
        return PlainTextResponse(text)

    async def follow() -> AsyncIterator[bytes]:
        sent = len(log.lines)
        written = len(text)
        if text:
            yield text.encode()
        while True:
            if limit is not None and written >= limit:
                return
            waiter = log.changed
            fresh = log.lines[sent:]
            sent = len(log.lines)
            for line in fresh:
                chunk = line.render(timestamps)
                if limit is not None:
                    chunk = chunk[: max(limit - written, 0)]
                written += len(chunk)
                if chunk:
                    yield chunk.encode()
            if log.ended:
                return
            if not fresh:
                await waiter.wait()

    return StreamingResponse(follow(), media_type="text/plain")
