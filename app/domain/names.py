"""Kubernetes object names: DNS-1123 / DNS-1035 checks, slugs, the per-kind name rule, default namespaces."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")

LABEL_MAX = 63
SUBDOMAIN_MAX = 253
FALLBACK_SLUG = "trellis"
_HASH_LEN = 6


def is_dns1123_label(s: str) -> bool:
    """Whether ``s`` is an RFC 1123 label: ≤ 63 of ``a-z0-9-``, starting and ending alphanumeric."""
    return len(s) <= LABEL_MAX and _LABEL.match(s) is not None


def is_dns1035_label(s: str) -> bool:
    """Whether ``s`` is an RFC 1035 label (a DNS-1123 label that starts with a letter), as Services need."""
    return len(s) <= LABEL_MAX and _LABEL_1035.match(s) is not None


def is_dns1123_subdomain(s: str) -> bool:
    """Whether ``s`` is an RFC 1123 subdomain: ≤ 253 characters of dot-separated labels."""
    return len(s) <= SUBDOMAIN_MAX and _SUBDOMAIN.match(s) is not None


def slugify_dns1123(text: str, max_len: int = LABEL_MAX) -> str:
    """A DNS-1123 label made from ``text``: lower case, accents dropped, other characters → ``-``.

    Never empty (``trellis`` when nothing is left). When the slug is longer than ``max_len`` it is cut and
    ends in ``-`` plus a short hash of the whole slug, so different long names stay different.
    """
    if max_len < 1:
        raise ValueError("max_len must be at least 1")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_ALNUM.sub("-", ascii_text.lower()).strip("-") or FALLBACK_SLUG
    if len(slug) <= max_len:
        return slug
    digest = hashlib.sha256(slug.encode()).hexdigest()[:_HASH_LEN]
    if max_len <= _HASH_LEN + 1:
        return digest[:max_len]
    head = slug[: max_len - _HASH_LEN - 1].rstrip("-")
    return f"{head}-{digest}"


def default_namespace(workspace_name: str, workflow_name: str) -> str:
    """The namespace a workflow deploys to unless told otherwise: the slug of ``<workspace>-<workflow>``."""
    return slugify_dns1123(f"{workspace_name}-{workflow_name}")


# Which rule an object's name follows, by kind. Kubernetes allows subdomains for these; Services must be
# DNS-1035 labels; everything else is kept to a DNS-1123 label (pod and volume names are built from them).
_SUBDOMAIN_KINDS = frozenset({"ConfigMap", "Secret", "PersistentVolumeClaim", "Ingress"})
_DNS1035_KINDS = frozenset({"Service"})
# A CronJob's Jobs are named ``<name>-<11 characters>``, so the CronJob name must leave room for them.
_MAX_LEN = {"CronJob": 52}


def object_name_problem(kind: str, name: str) -> str | None:
    """Why ``name`` cannot name an object of ``kind`` (a message for a person), or ``None`` when it can."""
    limit = _MAX_LEN.get(kind)
    if limit is not None and len(name) > limit:
        return f"a {kind} name must be at most {limit} characters, got {len(name)}"
    if kind in _SUBDOMAIN_KINDS:
        if is_dns1123_subdomain(name):
            return None
        return (
            f"must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', starting and ending "
            f"with a letter or digit, at most {SUBDOMAIN_MAX} characters), got {name!r}; "
            f"try {slugify_dns1123(name)!r}"
        )
    if kind in _DNS1035_KINDS:
        if is_dns1035_label(name):
            return None
        return (
            f"must be a DNS-1035 label (lower-case letters, digits and '-', starting with a letter and "
            f"ending with a letter or digit, at most {LABEL_MAX} characters), got {name!r}"
            + _suggest_1035(name)
        )
    if is_dns1123_label(name):
        return None
    return (
        f"must be a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or "
        f"digit, at most {LABEL_MAX} characters), got {name!r}; try {slugify_dns1123(name)!r}"
    )


def namespace_problem(namespace: str) -> str | None:
    """Why ``namespace`` cannot name a namespace, or ``None`` when it can."""
    return object_name_problem("Namespace", namespace)


def _suggest_1035(name: str) -> str:
    slug = slugify_dns1123(name)
    if not slug[0].isalpha():
        slug = slugify_dns1123(f"svc-{slug}")
    return f"; try {slug!r}"
