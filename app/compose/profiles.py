"""Compose profiles: a service that lists ``profiles`` is in only when one of them is enabled (``*``
enables all); services without profiles are always in. The enabled profiles are the ones asked for, or
else those of ``COMPOSE_PROFILES`` (comma-separated, from ``.env`` or the user's values), as in Compose.

As in Docker Compose v2, a service that ``depends_on`` a service left out is an error
(``PROFILE_DEPENDENCY_DISABLED``), unless the dependency says ``required: false`` (then it is dropped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.compose.problems import Problems


def enabled_profiles(profiles: Sequence[str] | None, variables: Mapping[str, str]) -> tuple[str, ...]:
    """The profiles asked for, or else those of ``COMPOSE_PROFILES``."""
    chosen = [p.strip() for p in profiles or () if p.strip()]
    if not chosen:
        chosen = [p.strip() for p in variables.get("COMPOSE_PROFILES", "").split(",") if p.strip()]
    return tuple(chosen)


def _profiles(service: Any) -> list[str]:
    listed = service.get("profiles") if isinstance(service, dict) else None
    return [str(p) for p in listed] if isinstance(listed, list) else []


def select_services(
    services: Mapping[str, Any], enabled: Sequence[str], problems: Problems
) -> dict[str, Any]:
    """The services in with the ``enabled`` profiles; those left out are warned (``PROFILE_DISABLED``)."""
    chosen: dict[str, Any] = {}
    left_out: dict[str, list[str]] = {}
    for name, service in services.items():
        own = _profiles(service)
        if not own or "*" in enabled or any(p in enabled for p in own):
            chosen[name] = service
        else:
            left_out[name] = own
            problems.warn(
                "PROFILE_DISABLED",
                f"the service is only in the profile(s) {', '.join(own)}, none of which is enabled: it is "
                "left out (enable one in profiles to import it)",
                name,
                f"services.{name}.profiles",
            )
    return {name: _without_disabled(name, service, left_out, problems) for name, service in chosen.items()}


def _without_disabled(name: str, service: Any, left_out: Mapping[str, list[str]], problems: Problems) -> Any:
    depends = service.get("depends_on") if isinstance(service, dict) else None
    if not isinstance(depends, (list, dict)):
        return service
    kept: list[Any] | dict[str, Any] = [] if isinstance(depends, list) else {}
    for dependency in depends:
        dep = str(dependency)
        if dep not in left_out:
            if isinstance(kept, list):
                kept.append(dependency)
            else:
                kept[dep] = depends[dependency]
            continue
        field = (
            f"services.{name}.depends_on.{dep}"
            if isinstance(depends, dict)
            else f"services.{name}.depends_on"
        )
        options = depends[dependency] if isinstance(depends, dict) else None
        if isinstance(options, dict) and options.get("required") is False:
            problems.warn(
                "DEPENDS_ON_DISABLED",
                f"depends on {dep!r} (required: false), which is left out by its profiles: the dependency "
                "is dropped",
                name,
                field,
            )
            continue
        problems.error(
            "PROFILE_DEPENDENCY_DISABLED",
            f"depends on {dep!r}, which is only in the profile(s) {', '.join(left_out[dep])}, none of "
            "which is enabled: enable one of them in profiles, or mark the dependency required: false",
            name,
            field,
        )
    return {**service, "depends_on": kept}
