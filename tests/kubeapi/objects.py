"""The API's verbs over the store: create, get, list, update, patch, apply, delete, status and scale.

Every write goes through here, whether it comes over HTTP, from the controllers or from a test, so
resourceVersion, generation, managed fields, defaults, validation and garbage collection always hold.
"""

from __future__ import annotations

import base64
import builtins
import copy
import ipaddress
import json
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

import yaml

from . import errors
from .apply import ManagedFields, apply, record_update
from .defaults import apply_defaults
from .errors import ApiError
from .fieldsets import strip_nulls
from .patches import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    PATCH_TYPES,
    STRATEGIC_PATCH,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)
from .resources import Registry, ResourceType
from .schema import schema_for
from .selectors import FieldSelector, LabelSelector
from .store import Store
from .validation import validate, validate_update

META_ORDER = (
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
)
SERVER_META = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
)
PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")
NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand alphanums


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def random_suffix(n: int = 5) -> str:
    return "".join(secrets.choice(NAME_CHARS) for _ in range(n))


def shaped(rt: ResourceType, obj: dict[str, Any], *, with_type: bool = True) -> dict[str, Any]:
    """Key order as Go serialises it: kind, apiVersion, metadata (in ObjectMeta order), then the rest."""
    out: dict[str, Any] = {}
    if with_type:
        out["kind"] = rt.kind
        out["apiVersion"] = rt.api_version
    meta = obj.get("metadata") or {}
    out["metadata"] = {k: meta[k] for k in META_ORDER if k in meta}
    out["metadata"].update({k: v for k, v in meta.items() if k not in out["metadata"]})
    for key, value in obj.items():
        if key not in {"kind", "apiVersion", "metadata"}:
            out[key] = value
    return out


def qos_class(spec: dict[str, Any]) -> str:
    containers = [c for c in (spec.get("containers") or []) if isinstance(c, dict)]
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for r in resources:
        limits, requests = r.get("limits") or {}, r.get("requests") or {}
        for name in ("cpu", "memory"):
            if name not in limits or requests.get(name, limits[name]) != limits[name]:
                return "Burstable"
    return "Guaranteed"


class ObjectApi:
    def __init__(self, store: Store, registry: Registry) -> None:
        self.store = store
        self.registry = registry
        self.namespace_finalization = "immediate"  # or "manual": namespaces stay Terminating
        self._next_ip = int(ipaddress.IPv4Address("10.96.0.10"))
        self._next_node_port = 30000

    # -- helpers ----------------------------------------------------------------------------------------

    def live(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        obj = self.store.get(rt, namespace if rt.namespaced else None, name)
        if obj is None:
            raise errors.not_found(rt, name)
        return obj

    def _decode(self, rt: ResourceType, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise errors.bad_request(f"the object provided is unrecognized (must be of type {rt.kind})")
        obj = copy.deepcopy(body)
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        if api_version and api_version != rt.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({rt.api_version})"
            )
        if kind and kind != rt.kind:
            raise errors.bad_request(f"the object provided is unrecognized (must be of type {rt.kind})")
        obj["kind"], obj["apiVersion"] = rt.kind, rt.api_version
        if not isinstance(obj.get("metadata") or {}, dict):
            raise errors.bad_request("metadata must be an object")
        obj["metadata"] = obj.get("metadata") or {}
        return obj

    def _check_namespace(self, rt: ResourceType, namespace: str, name: str) -> None:
        if not rt.namespaced:
            return
        ns_rt = self.registry.lookup("Namespace")
        ns = self.store.get(ns_rt, None, namespace)
        if ns is None:
            raise errors.not_found(ns_rt, namespace)
        if ns["metadata"].get("deletionTimestamp"):
            err = errors.forbidden_object(
                rt,
                name,
                f"unable to create new content in namespace {namespace} because it is being terminated",
            )
            assert err.details is not None
            err.details["causes"] = [
                {
                    "reason": "NamespaceTerminating",
                    "message": f"namespace {namespace} is being terminated",
                    "field": "metadata.namespace",
                }
            ]
            raise err

    def _reset_status_on_create(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        if rt.kind == "Pod":
            obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec") or {})}
        elif rt.kind == "Namespace":
            obj["status"] = {"phase": "Active"}
        elif rt.kind == "PersistentVolumeClaim":
            obj["status"] = {"phase": "Pending"}
        elif rt.kind == "Service":
            obj["status"] = {"loadBalancer": {}}
        elif rt.has_status and rt.kind != "Node":
            obj["status"] = {}

    def _finish_new(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        if rt.tracks_generation:
            meta["generation"] = 1
        if rt.kind == "Job":
            self._job_selector(obj)
        if rt.kind == "Service":
            self._allocate_service(obj)

    def _job_selector(self, obj: dict[str, Any]) -> None:
        spec = obj.setdefault("spec", {})
        if spec.get("manualSelector"):
            return
        uid, name = obj["metadata"]["uid"], obj["metadata"]["name"]
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        labels = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
        labels.update(
            {
                "batch.kubernetes.io/controller-uid": uid,
                "batch.kubernetes.io/job-name": name,
                "controller-uid": uid,
                "job-name": name,
            }
        )

    def _allocate_service(self, obj: dict[str, Any]) -> None:
        spec = obj.setdefault("spec", {})
        if spec.get("type") == "ExternalName":
            return
        if spec.get("clusterIP") == "None":
            spec["clusterIPs"] = ["None"]
        else:
            if not spec.get("clusterIP"):
                spec["clusterIP"] = str(ipaddress.IPv4Address(self._next_ip))
                self._next_ip += 1
            spec["clusterIPs"] = [spec["clusterIP"]]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        if spec.get("type") in {"NodePort", "LoadBalancer"}:
            for port in spec.get("ports") or []:
                if "nodePort" not in port:
                    port["nodePort"] = self._next_node_port
                    self._next_node_port += 1

    def _invalid(
        self, rt: ResourceType, obj: dict[str, Any], errs: builtins.list[errors.FieldError]
    ) -> ApiError:
        return errors.invalid_object(rt.kind, rt.group, obj.get("metadata", {}).get("name", ""), errs)

    # -- reading ----------------------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        return shaped(rt, self.live(rt, namespace, name))

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> dict[str, Any]:
        labels = LabelSelector.parse(label_selector)
        fields = FieldSelector.parse(field_selector, rt.kind)
        items = [
            o
            for o in self.store.list(rt, namespace if rt.namespaced else None)
            if labels.matches(o["metadata"].get("labels")) and fields.matches(o)
        ]
        rv = self.store.rv
        metadata: dict[str, Any] = {"resourceVersion": str(rv)}
        if continue_token:
            try:
                token = json.loads(base64.b64decode(continue_token))
                start_rv, start = int(token["rv"]), str(token["start"])
            except (ValueError, KeyError, TypeError) as exc:
                raise errors.bad_request(f"continue key is not valid: {exc}") from exc
            if start_rv < self.store.compacted_rv:
                raise errors.expired(
                    "The provided continue parameter is too old to display a consistent list result. You can "
                    "start a new list without the continue parameter, or use the continue token in this "
                    "response to retrieve the remainder of the results. Continuing with the provided token "
                    "results in an inconsistent list - objects that were created, modified, or deleted "
                    "between the time the first chunk was returned and now may show up in the list."
                )
            items = [o for o in items if _key(o) > start]
            metadata["resourceVersion"] = str(start_rv)
            rv = start_rv
        if limit and len(items) > limit:
            rest = len(items) - limit
            items = items[:limit]
            token_data = {"rv": rv, "start": _key(items[-1])}
            metadata["continue"] = base64.b64encode(json.dumps(token_data).encode()).decode()
            metadata["remainingItemCount"] = rest
        return {
            "kind": rt.list_kind,
            "apiVersion": rt.api_version,
            "metadata": metadata,
            "items": [shaped(rt, o, with_type=False) for o in items],
        }

    # -- create -----------------------------------------------------------------------------------------

    def create(
        self, rt: ResourceType, namespace: str | None, body: Any, *, manager: str, dry_run: bool = False
    ) -> dict[str, Any]:
        obj = self._decode(rt, body)
        meta = obj["metadata"]
        if rt.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + random_suffix()
        for key in SERVER_META:
            meta.pop(key, None)
        meta.pop("managedFields", None)
        self._check_namespace(rt, namespace or "", meta.get("name", ""))
        self._reset_status_on_create(rt, obj)
        apply_defaults(rt.kind, obj)
        problems = validate(rt.kind, obj)
        if problems:
            raise self._invalid(rt, obj, problems)
        if self.store.get(rt, namespace if rt.namespaced else None, meta["name"]) is not None:
            raise errors.already_exists(rt, meta["name"])
        managed = record_update(
            None,
            obj,
            ManagedFields(),
            manager=manager,
            subresource="",
            api_version=rt.api_version,
            node=schema_for(rt.kind),
            now=now(),
        )
        self._finish_new(rt, obj)
        if managed.entries:
            meta["managedFields"] = managed.to_list()
        if dry_run:
            return shaped(rt, obj)
        return shaped(rt, self.store.put(rt, obj, None))

    # -- update -----------------------------------------------------------------------------------------

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        *,
        manager: str,
        subresource: str = "",
        dry_run: bool = False,
    ) -> dict[str, Any]:
        live = self.live(rt, namespace, name)
        obj = self._decode(rt, body)
        self._check_identity(rt, namespace, name, obj)
        rv = obj["metadata"].get("resourceVersion")
        if rv and rv != live["metadata"]["resourceVersion"]:
            raise errors.conflict(rt, name)
        return self._update_from(rt, live, obj, manager=manager, subresource=subresource, dry_run=dry_run)

    def _check_identity(
        self, rt: ResourceType, namespace: str | None, name: str, obj: dict[str, Any]
    ) -> None:
        meta = obj["metadata"]
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        meta["name"] = name
        if rt.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace

    def _update_from(
        self,
        rt: ResourceType,
        live: dict[str, Any],
        new: dict[str, Any],
        *,
        manager: str,
        subresource: str,
        dry_run: bool,
    ) -> dict[str, Any]:
        new = copy.deepcopy(new)
        meta = new.setdefault("metadata", {})
        for key in (
            "uid",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ):
            if key in live["metadata"]:
                meta[key] = live["metadata"][key]
            else:
                meta.pop(key, None)
        meta["resourceVersion"] = live["metadata"]["resourceVersion"]
        base = ManagedFields.from_object(new if meta.get("managedFields") else live)
        if subresource == "status":
            status = new.get("status")
            new = copy.deepcopy(live)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
        elif rt.has_status:
            if "status" in live:
                new["status"] = copy.deepcopy(live["status"])
            else:
                new.pop("status", None)
        apply_defaults(rt.kind, new)
        problems = validate_update(rt.kind, live, new)
        if problems:
            raise self._invalid(rt, new, problems)
        managed = record_update(
            _without_managed(live),
            _without_managed(new),
            base,
            manager=manager,
            subresource=subresource,
            api_version=rt.api_version,
            node=schema_for(rt.kind),
            now=now(),
        )
        new["metadata"]["managedFields"] = managed.to_list()
        if not new["metadata"]["managedFields"]:
            del new["metadata"]["managedFields"]
        return self._commit(rt, live, new, dry_run=dry_run)

    def _commit(
        self, rt: ResourceType, live: dict[str, Any], new: dict[str, Any], *, dry_run: bool
    ) -> dict[str, Any]:
        if rt.tracks_generation and _spec_changed(rt, live, new):
            new["metadata"]["generation"] = int(live["metadata"].get("generation", 0)) + 1
        if new == live:
            return shaped(rt, live)
        if dry_run:
            return shaped(rt, new)
        meta = new["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return shaped(rt, self._remove(rt, new, "Background"))
        return shaped(rt, self.store.put(rt, new, live))

    # -- patch and apply ------------------------------------------------------------------------------

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: bytes,
        content_type: str,
        *,
        manager: str | None,
        force: bool | None,
        dry_run: bool = False,
        subresource: str = "",
        default_manager: str = "unknown",
    ) -> tuple[dict[str, Any], int]:
        content_type = content_type.split(";", 1)[0].strip()
        if content_type not in PATCH_TYPES:
            raise errors.unsupported_media_type(PATCH_TYPES)
        option_errors = []
        if content_type == APPLY_PATCH:
            if not manager:
                option_errors.append(errors.required("fieldManager", "is required for apply patch"))
        elif force is not None:
            option_errors.append(errors.forbidden("force", "may not be specified for non-apply patch"))
        if option_errors:
            raise errors.invalid_object("PatchOptions", "meta.k8s.io", "", option_errors)
        if content_type == APPLY_PATCH:
            try:
                config = yaml.safe_load(body.decode() or "{}")
            except yaml.YAMLError as exc:
                raise errors.bad_request(f"error decoding YAML: {exc}") from exc
            assert manager
            return self.apply(
                rt,
                namespace,
                name,
                config,
                manager=manager,
                force=bool(force),
                dry_run=dry_run,
                subresource=subresource,
            )
        live = self.live(rt, namespace, name)
        try:
            doc = json.loads(body or b"null")
        except ValueError as exc:
            raise errors.bad_request(f"error decoding patch: {exc}") from exc
        current = shaped(rt, live)
        if content_type == MERGE_PATCH:
            if not isinstance(doc, dict):
                raise errors.bad_request(
                    "json: cannot unmarshal into Go value of type map[string]interface {}"
                )
            new = merge_patch(current, doc)
        elif content_type == STRATEGIC_PATCH:
            if not isinstance(doc, dict):
                raise errors.bad_request(
                    "json: cannot unmarshal into Go value of type map[string]interface {}"
                )
            new = strategic_merge_patch(current, doc, schema_for(rt.kind))
        else:
            assert content_type == JSON_PATCH
            new = json_patch(current, doc)
        if not isinstance(new, dict):
            raise errors.bad_request("the patch produced something that is not an object")
        rv = (new.get("metadata") or {}).get("resourceVersion")
        if rv and rv != live["metadata"]["resourceVersion"]:
            raise errors.conflict(rt, name)
        new = self._decode(rt, new)
        self._check_identity(rt, namespace, name, new)
        result = self._update_from(
            rt, live, new, manager=manager or default_manager, subresource=subresource, dry_run=dry_run
        )
        return result, 200

    def apply(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        config: Any,
        *,
        manager: str,
        force: bool = False,
        dry_run: bool = False,
        subresource: str = "",
    ) -> tuple[dict[str, Any], int]:
        if not isinstance(config, dict):
            raise errors.bad_request("error decoding YAML: the applied configuration is not an object")
        config = copy.deepcopy(config)
        if not config.get("apiVersion") or not config.get("kind"):
            raise errors.bad_request(
                "Object 'Kind' is missing in '" + json.dumps(config, separators=(",", ":")) + "'"
                if not config.get("kind")
                else "Object 'apiVersion' is missing in the applied configuration"
            )
        if config["apiVersion"] != rt.api_version or config["kind"] != rt.kind:
            raise errors.bad_request(
                f"the API version in the data ({config['apiVersion']}) does not match the expected API "
                f"version ({rt.api_version})"
                if config["apiVersion"] != rt.api_version
                else f"the object provided is unrecognized (must be of type {rt.kind})"
            )
        meta = config.get("metadata")
        if not isinstance(meta, dict):
            meta = config["metadata"] = {}
        if meta.get("managedFields") is not None:
            raise errors.bad_request("metadata.managedFields must be nil")
        self._check_identity(rt, namespace, name, config)
        live = self.store.get(rt, namespace if rt.namespaced else None, name)
        rv = meta.pop("resourceVersion", None)
        if rv and (live is None or rv != live["metadata"]["resourceVersion"]):
            raise errors.conflict(rt, name)
        for key in ("uid", "creationTimestamp", "generation", "selfLink"):
            meta.pop(key, None)
        if not rt.namespaced:
            meta.pop("namespace", None)
        node = schema_for(rt.kind)
        if live is None:
            if subresource:
                raise errors.not_found(rt, name)
            self._check_namespace(rt, namespace or "", name)
            result = apply(
                None,
                config,
                ManagedFields(),
                manager=manager,
                subresource="",
                api_version=rt.api_version,
                force=force,
                node=node,
                now=now(),
            )
            obj = strip_nulls(result.obj)
            obj.setdefault("metadata", {})
            self._reset_status_on_create(rt, obj)
            apply_defaults(rt.kind, obj)
            problems = validate(rt.kind, obj)
            if problems:
                raise self._invalid(rt, obj, problems)
            self._finish_new(rt, obj)
            if result.managed.entries:
                obj["metadata"]["managedFields"] = result.managed.to_list()
            if dry_run:
                return shaped(rt, obj), 201
            return shaped(rt, self.store.put(rt, obj, None)), 201
        base = _without_managed(live)
        result = apply(
            base,
            config,
            ManagedFields.from_object(live),
            manager=manager,
            subresource=subresource,
            api_version=rt.api_version,
            force=force,
            node=node,
            now=now(),
        )
        new = strip_nulls(result.obj)
        if subresource != "status" and rt.has_status:
            if "status" in live:
                new["status"] = copy.deepcopy(live["status"])
            else:
                new.pop("status", None)
        apply_defaults(rt.kind, new)
        problems = validate_update(rt.kind, live, new)
        if problems:
            raise self._invalid(rt, new, problems)
        new["metadata"]["managedFields"] = result.managed.to_list()
        if not new["metadata"]["managedFields"]:
            del new["metadata"]["managedFields"]
        return self._commit(rt, live, new, dry_run=dry_run), 200

    # -- status and scale -------------------------------------------------------------------------------

    def set_status(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        status: dict[str, Any],
        *,
        manager: str = "kube-test",
    ) -> dict[str, Any]:
        live = self.live(rt, namespace, name)
        new = copy.deepcopy(live)
        new["status"] = copy.deepcopy(status)
        return self._update_from(rt, live, new, manager=manager, subresource="status", dry_run=False)

    def scale(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        if not rt.has_subresource("scale"):
            raise errors.path_not_found()
        live = self.live(rt, namespace, name)
        meta = live["metadata"]
        selector = (live.get("spec") or {}).get("selector") or {}
        labels = ",".join(f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items()))
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: meta[k]
                for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                if k in meta
            },
            "spec": {"replicas": (live.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": (live.get("status") or {}).get("replicas", 0), "selector": labels},
        }

    def update_scale(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        scale: dict[str, Any],
        *,
        manager: str,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        live = self.live(rt, namespace, name)
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if rv and rv != live["metadata"]["resourceVersion"]:
            raise errors.conflict(rt, name)
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.invalid_object(
                "Scale",
                "autoscaling",
                name,
                [errors.invalid("spec.replicas", replicas, "must be greater than or equal to 0")],
            )
        new = copy.deepcopy(live)
        new.setdefault("spec", {})["replicas"] = replicas
        self._update_from(rt, live, new, manager=manager, subresource="scale", dry_run=dry_run)
        return self.scale(rt, namespace, name) if not dry_run else scale

    # -- delete -----------------------------------------------------------------------------------------

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        propagation: str | None = None,
        preconditions: dict[str, Any] | None = None,
        grace_period: int | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        live = self.live(rt, namespace, name)
        meta = live["metadata"]
        pre = preconditions or {}
        if pre.get("uid") and pre["uid"] != meta["uid"]:
            raise errors.conflict(
                rt,
                name,
                f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {meta['uid']}",
            )
        if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
            raise errors.conflict(
                rt,
                name,
                f"Precondition failed: ResourceVersion in precondition: "
                f"{pre['resourceVersion']}, ResourceVersion in meta: "
                f"{meta['resourceVersion']}",
            )
        if rt.kind == "Namespace" and name in PROTECTED_NAMESPACES:
            raise errors.forbidden_object(rt, name, "this namespace may not be deleted")
        policy = propagation or rt.default_propagation
        if dry_run:
            return (
                shaped(rt, live) if rt.delete_returns_object else errors.status_success(rt, name, meta["uid"])
            )
        if rt.kind == "Namespace":
            return self._delete_namespace(rt, live)
        if meta.get("deletionTimestamp"):
            return shaped(rt, live)
        if meta.get("finalizers") or policy == "Foreground":
            marked = copy.deepcopy(live)
            marked["metadata"]["deletionTimestamp"] = now()
            marked["metadata"]["deletionGracePeriodSeconds"] = 0
            if policy == "Foreground":
                marked["metadata"]["finalizers"] = [*(meta.get("finalizers") or []), "foregroundDeletion"]
            if rt.tracks_generation:
                marked["metadata"]["generation"] = int(meta.get("generation", 0)) + 1
            stored = self.store.put(rt, marked, live)
            if policy == "Foreground":
                self._collect_dependents(stored, "Foreground")
                current = self.store.get(rt, namespace if rt.namespaced else None, name)
                if current is not None:
                    done = copy.deepcopy(current)
                    done["metadata"]["finalizers"] = [
                        f for f in current["metadata"].get("finalizers", []) if f != "foregroundDeletion"
                    ]
                    if not done["metadata"]["finalizers"]:
                        del done["metadata"]["finalizers"]
                    self._commit(rt, current, done, dry_run=False)
            return shaped(rt, stored)
        if rt.kind == "Pod" and (live.get("spec") or {}).get("nodeName") and grace_period != 0:
            # graceful deletion: the API marks the pod, the kubelet then removes it
            marked = copy.deepcopy(live)
            grace = (
                grace_period
                if grace_period is not None
                else (live.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
            )
            marked["metadata"]["deletionTimestamp"] = now()
            marked["metadata"]["deletionGracePeriodSeconds"] = grace
            marked["metadata"]["generation"] = int(meta.get("generation", 0)) + 1
            stored = self.store.put(rt, marked, live)
            self._remove(rt, stored, policy)
            return shaped(rt, stored)
        removed = self._remove(rt, live, policy)
        if rt.delete_returns_object:
            return shaped(rt, removed)
        return errors.status_success(rt, name, meta["uid"])

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        propagation: str | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """DELETE on a collection: answers the list of the objects it deleted."""
        listing = self.list(rt, namespace, label_selector=label_selector, field_selector=field_selector)
        for item in listing["items"]:
            meta = item["metadata"]
            self.delete(rt, meta.get("namespace"), meta["name"], propagation=propagation, dry_run=dry_run)
        listing["metadata"] = {"resourceVersion": str(self.store.rv)}
        return listing

    def _remove(self, rt: ResourceType, obj: dict[str, Any], policy: str) -> dict[str, Any]:
        meta = obj["metadata"]
        removed = self.store.remove(rt, meta.get("namespace"), meta["name"], final=obj)
        assert removed is not None
        self._collect_dependents(removed, policy)
        namespace = meta.get("namespace")
        if namespace:
            self._maybe_finish_namespace(namespace)
        return removed

    def _dependents(self, owner: dict[str, Any]) -> builtins.list[tuple[ResourceType, dict[str, Any]]]:
        uid = owner["metadata"]["uid"]
        namespace = owner["metadata"].get("namespace")
        found = []
        for rt, obj in self.store.all_objects():
            if namespace and obj["metadata"].get("namespace") != namespace:
                continue
            if any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or []):
                found.append((rt, obj))
        return found

    def _collect_dependents(self, owner: dict[str, Any], policy: str) -> None:
        uid = owner["metadata"]["uid"]
        for rt, dep in self._dependents(owner):
            current = self.store.get(rt, dep["metadata"].get("namespace"), dep["metadata"]["name"])
            if current is None:
                continue
            refs = current["metadata"].get("ownerReferences") or []
            others = [r for r in refs if r.get("uid") != uid]
            if policy == "Orphan" or any(self._owner_exists(r) for r in others):
                updated = copy.deepcopy(current)
                if others:
                    updated["metadata"]["ownerReferences"] = others
                else:
                    del updated["metadata"]["ownerReferences"]
                self.store.put(rt, updated, current)
                continue
            self.delete(
                rt,
                current["metadata"].get("namespace"),
                current["metadata"]["name"],
                propagation="Foreground" if policy == "Foreground" else "Background",
                grace_period=0,
            )

    def _owner_exists(self, ref: dict[str, Any]) -> bool:
        return any(obj["metadata"].get("uid") == ref.get("uid") for _, obj in self.store.all_objects())

    def _delete_namespace(self, rt: ResourceType, live: dict[str, Any]) -> dict[str, Any]:
        if live["metadata"].get("deletionTimestamp"):
            return shaped(rt, live)
        marked = copy.deepcopy(live)
        marked["metadata"]["deletionTimestamp"] = now()
        marked["status"] = {"phase": "Terminating"}
        stored = self.store.put(rt, marked, live)
        if self.namespace_finalization == "immediate":
            self.finalize_namespace(stored["metadata"]["name"])
        return shaped(rt, stored)

    def finalize_namespace(self, name: str) -> None:
        """What the namespace controller does: delete the contents, then the Namespace itself."""
        ns_rt = self.registry.lookup("Namespace")
        ns = self.store.get(ns_rt, None, name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        for rt, obj in self.store.all_objects():
            inside = rt.namespaced and obj["metadata"].get("namespace") == name
            if inside and self.store.get(rt, name, obj["metadata"]["name"]) is not None:
                self.delete(rt, name, obj["metadata"]["name"], grace_period=0)
        self._maybe_finish_namespace(name, force=True)

    def _maybe_finish_namespace(self, name: str, *, force: bool = False) -> None:
        ns_rt = self.registry.lookup("Namespace")
        ns = self.store.get(ns_rt, None, name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        if not force and self.namespace_finalization != "immediate":
            return
        if any(
            rt.namespaced and o["metadata"].get("namespace") == name for rt, o in self.store.all_objects()
        ):
            return
        self.store.remove(ns_rt, None, name)


def _key(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


def _without_managed(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out.get("metadata", {}).pop("managedFields", None)
    return out


def _spec_changed(rt: ResourceType, live: dict[str, Any], new: dict[str, Any]) -> bool:
    if live.get("spec") != new.get("spec"):
        return True
    if rt.kind == "Deployment":
        return bool(live["metadata"].get("annotations") != new["metadata"].get("annotations"))
    return False
