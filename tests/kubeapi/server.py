"""KubeApiServer: the test server in its own thread and event loop, and the Python API tests use."""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import shutil
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import uvicorn

from .controllers import Controllers
from .discovery import DEFAULT_VERSION
from .exec import ExecHandler, ExecSession
from .kubeconfig import kubeconfig_dict, write_kubeconfig
from .objects import shaped
from .resources import METRICS_TYPES
from .rest import build_app
from .state import Failure, ForbidRule, RecordedRequest, ServerState
from .store import BOOKMARK, CLOSE, Store
from .tls import CertificateAuthority, KeyPair, TlsHttpProtocol, TlsWebSocketProtocol

T = TypeVar("T")
TEST_MANAGER = "kube-test"
SEED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def _seed(state: ServerState) -> None:
    ns_rt = state.registry.lookup("Namespace")
    for name in SEED_NAMESPACES:
        state.api.create(ns_rt, None, {"metadata": {"name": name}}, manager="kube-apiserver")
    node_rt = state.registry.lookup("Node")
    node = state.api.create(
        node_rt,
        None,
        {
            "metadata": {
                "name": "node-1",
                "labels": {
                    "kubernetes.io/hostname": "node-1",
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                },
            }
        },
        manager="kubelet",
    )
    state.api.set_status(
        node_rt,
        None,
        node["metadata"]["name"],
        {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": node["metadata"]["creationTimestamp"],
                    "lastTransitionTime": node["metadata"]["creationTimestamp"],
                }
            ],
            "addresses": [
                {"type": "InternalIP", "address": "172.18.0.2"},
                {"type": "Hostname", "address": "node-1"},
            ],
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "nodeInfo": {
                "kubeletVersion": DEFAULT_VERSION,
                "operatingSystem": "linux",
                "architecture": "amd64",
                "containerRuntimeVersion": "containerd://1.7.0",
            },
        },
        manager="kubelet",
    )


class ControllersHandle:
    """``kube.controllers``: switch the controllers on/off, step them, shape the pods they make."""

    def __init__(self, server: KubeApiServer, controllers: Controllers) -> None:
        self._server = server
        self._c = controllers

    def enable(self) -> None:
        """Reconcile after every write, as a cluster does (``await settle()`` to wait for it)."""
        self._c.enabled = True
        self._server._call(self._c.run_to_fixpoint)

    def disable(self) -> None:
        self._c.enabled = False

    @property
    def enabled(self) -> bool:
        return self._c.enabled

    async def reconcile(self) -> None:
        """Run every controller (and the kubelet) until nothing changes."""
        await self._server._acall(self._reconcile)

    async def _reconcile(self) -> None:
        self._c.run_to_fixpoint()

    async def settle(self) -> None:
        await self._server._acall(self._c.settle)

    @property
    def pod_state(self) -> str:
        return self._c.pod_state

    @pod_state.setter
    def pod_state(self, state: str) -> None:
        """The state new pods get: ``running`` (default), ``creating`` to hold a rollout, ``crash-loop``..."""
        self._c.pod_state = state

    @property
    def job_pod_state(self) -> str:
        return self._c.job_pod_state

    @job_pod_state.setter
    def job_pod_state(self, state: str) -> None:
        self._c.job_pod_state = state

    def set_image_state(self, image: str, state: str | None) -> None:
        """New pods running ``image`` get ``state`` (e.g. ``image-pull-backoff``); None removes the rule."""
        if state is None:
            self._c.image_states.pop(image, None)
        else:
            self._c.image_states[image] = state

    @property
    def bind_volumes(self) -> bool:
        return self._c.bind_volumes

    @bind_volumes.setter
    def bind_volumes(self, value: bool) -> None:
        self._c.bind_volumes = value

    @property
    def assign_load_balancers(self) -> bool:
        return self._c.assign_load_balancers

    @assign_load_balancers.setter
    def assign_load_balancers(self, value: bool) -> None:
        self._c.assign_load_balancers = value

    def exceed_progress_deadline(self, namespace: str, name: str) -> None:
        """The Deployment's next status says ProgressDeadlineExceeded (until its rollout completes)."""
        self._c.deadline_exceeded.add((namespace, name))

    def trigger_cronjob(self, namespace: str, name: str) -> dict[str, Any]:
        return self._server._call(self._c.trigger_cronjob, namespace, name)


class PodsHandle:
    """``kube.pods``: put a pod into a state exactly as the kubelet (or scheduler) reports it."""

    def __init__(self, server: KubeApiServer, controllers: Controllers) -> None:
        self._server = server
        self._c = controllers

    def set_state(self, namespace: str, name: str, state: str, **options: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            pod = self._server._state.api.live(self._server._state.registry.lookup("Pod"), namespace, name)
            return self._c.set_pod_state(pod, state, **options)

        return self._server._call(run)

    def running(self, namespace: str, name: str) -> dict[str, Any]:
        return self.set_state(namespace, name, "running")

    def not_ready(self, namespace: str, name: str, *, container: str | None = None) -> dict[str, Any]:
        return self.set_state(namespace, name, "not-ready", container=container)

    def creating(self, namespace: str, name: str) -> dict[str, Any]:
        return self.set_state(namespace, name, "creating")

    def crash_loop(
        self,
        namespace: str,
        name: str,
        *,
        container: str | None = None,
        restarts: int = 5,
        exit_code: int = 1,
    ) -> dict[str, Any]:
        return self.set_state(
            namespace, name, "crash-loop", container=container, restarts=restarts, exit_code=exit_code
        )

    def image_pull_backoff(
        self, namespace: str, name: str, *, container: str | None = None
    ) -> dict[str, Any]:
        return self.set_state(namespace, name, "image-pull-backoff", container=container)

    def err_image_pull(
        self, namespace: str, name: str, *, container: str | None = None, message: str | None = None
    ) -> dict[str, Any]:
        return self.set_state(namespace, name, "err-image-pull", container=container, message=message)

    def oom_killed(
        self,
        namespace: str,
        name: str,
        *,
        container: str | None = None,
        restarting: bool = True,
        restarts: int = 1,
    ) -> dict[str, Any]:
        return self.set_state(
            namespace, name, "oom-killed", container=container, restarting=restarting, restarts=restarts
        )

    def unschedulable(self, namespace: str, name: str, *, message: str | None = None) -> dict[str, Any]:
        return self.set_state(namespace, name, "unschedulable", message=message)

    def succeeded(self, namespace: str, name: str) -> dict[str, Any]:
        return self.set_state(namespace, name, "succeeded")

    def failed(self, namespace: str, name: str, *, exit_code: int = 1) -> dict[str, Any]:
        return self.set_state(namespace, name, "failed", exit_code=exit_code)


class KubeApiServer:
    """A Kubernetes API test server on 127.0.0.1, served by Uvicorn in a thread with its own event loop.

    All test-facing methods may be called from the test's event loop (they hop to the server thread).
    """

    def __init__(
        self,
        *,
        tls: bool = False,
        history_size: int = 1000,
        version: str = DEFAULT_VERSION,
        bookmark_interval: float | None = 60.0,
        seed: bool = True,
    ) -> None:
        self._state = ServerState(
            store=Store(history_size=history_size), git_version=version, bookmark_interval=bookmark_interval
        )
        self._controllers = Controllers(self._state.api)
        self.controllers = ControllersHandle(self, self._controllers)
        self.pods = PodsHandle(self, self._controllers)
        self.ca: CertificateAuthority | None = CertificateAuthority() if tls else None
        self._tmp = Path(tempfile.mkdtemp(prefix="kubeapi-"))
        self._tls_files: tuple[Path, Path] | None = None
        if self.ca is not None:
            self._tls_files = self.ca.issue_server_cert().write(self._tmp, "apiserver")
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None
        if seed:
            _seed(self._state)

    # -- threads ------------------------------------------------------------------------------------------

    def _run_loop(self, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def _ensure_thread(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            ready = threading.Event()
            self._thread = threading.Thread(
                target=self._run_loop, args=(loop, ready), name="kubeapi", daemon=True
            )
            self._thread.start()
            ready.wait(10)
            self._loop = loop
            self._controllers.loop = loop
        return self._loop

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on the server's loop and return its result (raising what it raises)."""
        if self._loop is None or threading.current_thread() is self._thread:
            return fn(*args, **kwargs)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future.result(timeout=30)

    async def _acall(self, fn: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
        loop = self._ensure_thread()
        if threading.current_thread() is self._thread:
            return await fn(*args)
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(fn(*args), loop))

    # -- lifecycle ----------------------------------------------------------------------------------------

    @property
    def scheme(self) -> str:
        return "https" if self.ca is not None else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> KubeApiServer:
        """Start serving (again: on the same port after ``stop()``)."""
        await self._acall(self._start)
        return self

    async def _start(self) -> None:
        if self.running:
            return
        # proto=IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP;
        # without it every response waits ~40 ms for a delayed ACK (Nagle)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        self._state.address = f"127.0.0.1:{self.port}"
        options: dict[str, Any] = {}
        if self._tls_files is not None:
            options = {"ssl_certfile": str(self._tls_files[0]), "ssl_keyfile": str(self._tls_files[1])}
        config = uvicorn.Config(
            build_app(self._state),
            log_config=None,
            access_log=False,
            lifespan="off",
            http=TlsHttpProtocol,
            ws=TlsWebSocketProtocol,
            ws_ping_interval=None,
            timeout_graceful_shutdown=2,
            **options,
        )
        config.load()
        server = uvicorn.Server(config)
        # Server.serve() would add signal handlers and a 0.1 s tick; startup/shutdown are driven here instead
        server.lifespan = config.lifespan_class(config)
        self._server = server
        self._socket = sock
        self._apply_client_ca()
        await server.startup(sockets=[sock])
        await server.on_tick(0)  # sets the Date header

    def _apply_client_ca(self) -> None:
        context = self._server.config.ssl if self._server is not None else None
        if context is not None and self._state.client_ca is not None:
            context.load_verify_locations(cadata=self._state.client_ca.cert_pem.decode())
            context.verify_mode = ssl.CERT_OPTIONAL

    async def stop(self) -> None:
        """Stop serving: open watches end, new connections are refused. State is kept."""
        if self._loop is not None:
            await self._acall(self._stop)

    async def _stop(self) -> None:
        server, sock = self._server, self._socket
        if server is None:
            return
        self._server = self._socket = None
        self._state.store.signal(CLOSE)  # watches end
        self._state.logs.close_all()  # log follows end
        for listener in server.servers:
            listener.close()
        for connection in list(server.server_state.connections):
            connection.shutdown()
        for _ in range(1000):  # up to 2 s for open connections to finish
            if not (server.server_state.connections or server.server_state.tasks):
                break
            # A watch still in flight, or a connection accepted just before the listener closed, may
            # register after the first pass: keep ending them.
            self._state.store.signal(CLOSE)
            for connection in list(server.server_state.connections):
                connection.shutdown()
            await asyncio.sleep(0.002)
        for task in list(server.server_state.tasks):
            task.cancel()
        for connection in list(server.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.close()
        await asyncio.sleep(0.01)  # let the transports' close callbacks run on this loop
        for listener in server.servers:
            await listener.wait_closed()
        if sock is not None:
            sock.close()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def close(self) -> None:
        """Stop serving and end the server thread."""
        await self.stop()
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None
            self._thread = None
            self._controllers.loop = None
        shutil.rmtree(self._tmp, ignore_errors=True)

    async def __aenter__(self) -> KubeApiServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- client configuration -----------------------------------------------------------------------------

    def kubeconfig_dict(
        self,
        *,
        token: str | None = None,
        client_cert: KeyPair | None = None,
        namespace: str | None = "default",
        insecure: bool = False,
    ) -> dict[str, Any]:
        """A kubeconfig for this server; with no token/client_cert given, the ones it requires."""
        if token is None:
            token = self._state.token
        if client_cert is None and self._state.client_ca is not None:
            client_cert = self._state.client_ca.issue_client_cert("kube-test-user", ("system:masters",))
        return kubeconfig_dict(
            self.url,
            ca_pem=self.ca.cert_pem if self.ca else None,
            token=token,
            client_cert=client_cert,
            namespace=namespace,
            insecure=insecure,
        )

    def kubeconfig(self, path: Path | str, **options: Any) -> Path:
        """Write a kubeconfig file for this server (see ``kubeconfig_dict`` for the options)."""
        return write_kubeconfig(Path(path), self.kubeconfig_dict(**options))

    async def client_configuration(self, **options: Any) -> Any:
        """A kubernetes_asyncio Configuration loaded from this server's kubeconfig by the real loader."""
        from kubernetes_asyncio import client, config

        path = self.kubeconfig(self._tmp / "kubeconfig.yaml", **options)
        configuration = client.Configuration()
        await config.load_kube_config(
            config_file=str(path), client_configuration=configuration, temp_file_path=str(self._tmp)
        )
        return configuration

    # -- test switches ------------------------------------------------------------------------------------

    @property
    def requests(self) -> builtins.list[RecordedRequest]:
        """Every request served so far, as (method, path, query)."""
        return list(self._state.requests)

    def clear_requests(self) -> None:
        self._state.requests.clear()

    @property
    def version(self) -> str:
        return self._state.git_version

    @version.setter
    def version(self, git_version: str) -> None:
        self._state.git_version = git_version

    @property
    def bookmark_interval(self) -> float | None:
        return self._state.bookmark_interval

    @bookmark_interval.setter
    def bookmark_interval(self, seconds: float | None) -> None:
        """How often watches with allowWatchBookmarks get a BOOKMARK (None: only on ``send_bookmark()``)."""
        self._state.bookmark_interval = seconds

    @property
    def resource_version(self) -> int:
        return self._state.store.rv

    @property
    def namespace_finalization(self) -> str:
        return self._state.api.namespace_finalization

    @namespace_finalization.setter
    def namespace_finalization(self, mode: str) -> None:
        """``immediate`` (default) or ``manual``: deleted namespaces stay Terminating until finalized."""
        self._state.api.namespace_finalization = mode

    def finalize_namespace(self, name: str) -> None:
        self._call(self._state.api.finalize_namespace, name)

    def delay(self, seconds: float) -> None:
        """Answer every request ``seconds`` late (0 to stop)."""
        self._state.delay = seconds

    def fail_requests(
        self, status: int = 503, *, times: int = 1, method: str | None = None, path: str | None = None
    ) -> None:
        """Answer the next ``times`` matching requests (method, path prefix) with a ``status`` Status."""
        self._state.failures.append(Failure(status, times, method, path))

    def forbid(
        self, verb: str | None = None, resource: str | None = None, namespace: str | None = None
    ) -> None:
        """RBAC says no (403, as kube-apiserver words it) to matching requests."""
        self._state.forbidden.append(ForbidRule(verb, resource, namespace))

    def clear_forbidden(self) -> None:
        self._state.forbidden.clear()

    def require_token(self, token: str, *, user: str = "kube-test-user") -> None:
        """Only ``Authorization: Bearer <token>`` (or a client certificate, if required) gets in; else 401."""
        self._state.token = token
        self._state.user = user

    def require_client_cert(self, ca: CertificateAuthority) -> None:
        """Accept client certificates issued by ``ca`` (TLS servers only); requests without one get 401."""
        if self.ca is None:
            raise RuntimeError("client certificates need a TLS server: KubeApiServer(tls=True)")
        self._state.client_ca = ca
        self._call(self._apply_client_ca)

    def clear_auth(self) -> None:
        self._state.token = None
        self._state.client_ca = None

    # -- watches ------------------------------------------------------------------------------------------

    def send_bookmark(self) -> None:
        """Every open watch with allowWatchBookmarks=true gets a BOOKMARK at the current resourceVersion."""
        self._call(self._state.store.signal, BOOKMARK)

    def compact(self) -> None:
        """Forget the event history: watching from any older resourceVersion now answers 410 Expired."""
        self._call(self._state.store.compact)

    def drop_watches(self) -> None:
        """End every open watch stream (cleanly, as when an API server restarts)."""
        self._call(self._state.store.signal, CLOSE)

    @property
    def open_watches(self) -> int:
        return len(self._state.store.watchers)

    async def wait_for_watches(self, count: int = 1, *, within: float = 5.0) -> None:
        """Wait until ``count`` watch streams are open (e.g. the code under test has started watching)."""
        await self._acall(self._wait_for_watches, count, within)

    async def _wait_for_watches(self, count: int, within: float) -> None:
        await asyncio.wait_for(self._state.store.wait_for_watchers(count), within)

    # -- objects ------------------------------------------------------------------------------------------

    def serve_metrics(self) -> None:
        """Serve ``metrics.k8s.io/v1beta1`` as metrics-server does; the test sets usage by creating
        ``PodMetrics`` / ``NodeMetrics`` objects (``containers[].usage``, ``usage``) with ``create``."""
        self._call(self._state.registry.add, METRICS_TYPES)

    def create(self, obj: dict[str, Any], *, manager: str = TEST_MANAGER) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            rt = self._state.registry.for_object(obj)
            namespace = (obj.get("metadata") or {}).get("namespace", "default") if rt.namespaced else None
            return self._state.api.create(rt, namespace, obj, manager=manager)

        return self._call(run)

    def apply(
        self, obj: dict[str, Any], *, manager: str = TEST_MANAGER, force: bool = False
    ) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            rt = self._state.registry.for_object(obj)
            meta = obj.get("metadata") or {}
            namespace = meta.get("namespace", "default") if rt.namespaced else None
            return self._state.api.apply(rt, namespace, meta["name"], obj, manager=manager, force=force)[0]

        return self._call(run)

    def update(self, obj: dict[str, Any], *, manager: str = TEST_MANAGER) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            rt = self._state.registry.for_object(obj)
            meta = obj.get("metadata") or {}
            namespace = meta.get("namespace", "default") if rt.namespaced else None
            return self._state.api.update(rt, namespace, meta["name"], obj, manager=manager)

        return self._call(run)

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The object as the API returns it, or None."""

        def run() -> dict[str, Any] | None:
            rt = self._state.registry.lookup(kind)
            obj = self._state.store.get(rt, namespace if rt.namespaced else None, name)
            return shaped(rt, obj) if obj is not None else None

        return self._call(run)

    def list(
        self, kind: str, namespace: str | None = None, *, labels: str | None = None
    ) -> builtins.list[dict[str, Any]]:
        """Objects of a kind (with kind/apiVersion, unlike a real list's items)."""

        def run() -> builtins.list[dict[str, Any]]:
            rt = self._state.registry.lookup(kind)
            items = self._state.api.list(rt, namespace, label_selector=labels)["items"]
            return [shaped(rt, item) for item in items]

        return self._call(run)

    def delete(self, kind: str, namespace: str | None, name: str, *, propagation: str | None = None) -> None:
        def run() -> None:
            rt = self._state.registry.lookup(kind)
            self._state.api.delete(rt, namespace, name, propagation=propagation)

        self._call(run)

    def set_status(
        self,
        kind: str,
        namespace: str | None,
        name: str,
        status: dict[str, Any],
        *,
        manager: str = TEST_MANAGER,
    ) -> dict[str, Any]:
        """Replace an object's status (through the status subresource rules): a MODIFIED event."""

        def run() -> dict[str, Any]:
            rt = self._state.registry.lookup(kind)
            return self._state.api.set_status(rt, namespace, name, status, manager=manager)

        return self._call(run)

    # -- logs and exec ------------------------------------------------------------------------------------

    def append_log(
        self,
        namespace: str,
        pod: str,
        container: str,
        line: str,
        *,
        previous: bool = False,
        at: datetime | None = None,
    ) -> None:
        """Add a line (or several, split on newlines) to a container's log; followers see it at once."""
        self._call(self._state.logs.append, namespace, pod, container, line, time=at, previous=previous)

    def end_log(self, namespace: str, pod: str, container: str | None = None) -> None:
        """The container stopped: ``follow=true`` streams end."""
        self._call(self._state.logs.end, namespace, pod, container)

    def restart_container_log(self, namespace: str, pod: str, container: str) -> None:
        """The current log becomes the ``previous=true`` log; a new, empty one starts."""
        self._call(self._state.logs.restart, namespace, pod, container)

    def on_exec(
        self, pod: str, handler: ExecHandler, *, namespace: str | None = None, container: str | None = None
    ) -> None:
        """Serve exec into ``pod`` with ``async handler(session) -> exit code`` (runs on the server's loop)."""
        self._state.execs.register(pod, handler, namespace, container)

    @property
    def exec_sessions(self) -> builtins.list[ExecSession]:
        return list(self._state.execs.sessions)
