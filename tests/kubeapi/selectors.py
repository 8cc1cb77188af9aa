"""Label selectors (=, ==, !=, in, notin, exists, !exists, gt, lt) and field selectors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import bad_request

_TOKEN = re.compile(r"\s*(==|!=|=|\(|\)|,|!|>|<|[^\s=!(),<>]+)")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # exists, !exists, in, notin, gt, lt
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op == "in":
            return present and labels[self.key] in self.values
        if self.op == "notin":
            return not present or labels[self.key] not in self.values
        if not present:
            return False
        try:
            value = int(labels[self.key])
        except ValueError:
            return False
        bound = int(self.values[0])
        return value > bound if self.op == "gt" else value < bound


_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


class LabelSelector:
    def __init__(self, requirements: list[Requirement]) -> None:
        self.requirements = requirements

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        if not text or not text.strip():
            return cls([])
        tokens = _TOKEN.findall(text)
        if "".join(tokens).replace(" ", "") != re.sub(r"\s+", "", text):
            raise bad_request(f"unable to parse requirement: invalid selector {text!r}")
        parser = _Parser(tokens, text)
        return cls(parser.parse())

    def matches(self, labels: dict[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @classmethod
    def from_label_selector(cls, selector: dict[str, Any] | None) -> LabelSelector:
        """From a metav1.LabelSelector (matchLabels + matchExpressions)."""
        selector = selector or {}
        reqs = [Requirement(k, "in", (v,)) for k, v in (selector.get("matchLabels") or {}).items()]
        ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
        for expr in selector.get("matchExpressions") or []:
            reqs.append(Requirement(expr["key"], ops[expr["operator"]], tuple(expr.get("values") or ())))
        return cls(reqs)

    def __bool__(self) -> bool:
        return bool(self.requirements)


class _Parser:
    def __init__(self, tokens: list[str], text: str) -> None:
        self.tokens = [t.strip() for t in tokens]
        self.pos = 0
        self.text = text

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _next(self) -> str | None:
        tok = self._peek()
        self.pos += 1
        return tok

    def _fail(self, found: str | None, expected: str) -> Exception:
        shown = found if found is not None else "EOS"
        return bad_request(f"unable to parse requirement: found '{shown}', expected: {expected}")

    def _key(self) -> str:
        tok = self._next()
        if tok is None or tok in {"=", "==", "!=", "(", ")", ",", "!", ">", "<"}:
            raise self._fail(tok, "identifier")
        if not _KEY.match(tok):
            raise bad_request(
                f'unable to parse requirement: <nil>: Invalid value: "{tok}": name part must consist of '
                "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
                "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
                "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
            )
        return tok

    def _value(self) -> str:
        tok = self._peek()
        if tok in {",", ")"} or tok is None:
            return ""
        self.pos += 1
        if tok in {"=", "==", "!=", "(", "!", ">", "<"} or not _VALUE.match(tok):
            raise bad_request(
                f'unable to parse requirement: values[0]: Invalid value: "{tok}": a valid '
                "label must be an empty string or consist of alphanumeric characters, '-', "
                "'_' or '.', and must start and end with an alphanumeric character"
            )
        return tok

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            reqs.append(self._requirement())
            tok = self._next()
            if tok is None:
                return reqs
            if tok != ",":
                raise self._fail(tok, "','")

    def _requirement(self) -> Requirement:
        if self._peek() == "!":
            self.pos += 1
            return Requirement(self._key(), "!exists")
        key = self._key()
        op = self._peek()
        if op is None or op == ",":
            return Requirement(key, "exists")
        self.pos += 1
        if op in {"=", "=="}:
            return Requirement(key, "in", (self._value(),))
        if op == "!=":
            return Requirement(key, "notin", (self._value(),))
        if op in {">", "<"}:
            value = self._value()
            if not value.isdigit():
                raise bad_request(
                    f"unable to parse requirement: for 'gt', 'lt' operators, exactly one "
                    f"value is required: {value!r} is not an integer"
                )
            return Requirement(key, "gt" if op == ">" else "lt", (value,))
        if op in {"in", "notin"}:
            if self._next() != "(":
                raise self._fail(self.tokens[self.pos - 1] if self.pos <= len(self.tokens) else None, "'('")
            values: list[str] = []
            while True:
                values.append(self._value())
                tok = self._next()
                if tok == ")":
                    break
                if tok != ",":
                    raise self._fail(tok, "',' or ')'")
            return Requirement(key, op, tuple(values))
        raise self._fail(op, "'=', '!=', '==', 'in', notin'")


# Field selectors: the fields each kind's registry accepts (GetAttrs in pkg/registry).
COMMON_FIELDS = ("metadata.name", "metadata.namespace")
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "Pod": (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    "Secret": ("type",),
    "Namespace": ("status.phase",),
    "Node": ("spec.unschedulable",),
    "Event": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    "ReplicaSet": ("status.replicas",),
    "Job": ("status.successful",),
}


def _field_value(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if path == "source" and isinstance(value, dict):
        return str(value.get("component", ""))
    return "" if value is None else str(value)


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    value: str
    negate: bool

    def matches(self, obj: dict[str, Any]) -> bool:
        return (_field_value(obj, self.field) == self.value) != self.negate


class FieldSelector:
    def __init__(self, requirements: list[FieldRequirement]) -> None:
        self.requirements = requirements

    @classmethod
    def parse(cls, text: str | None, kind: str) -> FieldSelector:
        if not text or not text.strip():
            return cls([])
        reqs: list[FieldRequirement] = []
        allowed = COMMON_FIELDS + KIND_FIELDS.get(kind, ())
        for part in text.split(","):
            match = re.match(r"^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
            if not match:
                raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
            field, op, value = match.groups()
            if field not in allowed:
                raise bad_request(f"field label not supported: {field}")
            reqs.append(FieldRequirement(field, value, op == "!="))
        return cls(reqs)

    def matches(self, obj: dict[str, Any]) -> bool:
        return all(r.matches(obj) for r in self.requirements)

    def exact_name(self) -> str | None:
        for r in self.requirements:
            if r.field == "metadata.name" and not r.negate:
                return r.value
        return None
