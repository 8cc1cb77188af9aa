"""``trellis docs``: ``docs/graphql-operations.md`` and ``docs/events.md``, generated from the schema.

Everything listed comes from the schema the code builds (the same SDL as ``schema/schema.graphql``):
every query, mutation and subscription with its description, arguments and the fields of its ``input``
object; every subscription's event type with its fields and the values of its enums. The few sentences
the schema cannot carry (the meaning of each ``EventType`` value, the order of events, the WebSocket
close codes) are written here, once. ``--check`` fails when the committed files differ, as
``export-schema --check`` does for the SDL.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    ast_from_value,
    build_schema,
    get_named_type,
    print_ast,
)

OPERATIONS = "graphql-operations.md"
EVENTS = "events.md"
REGENERATE = (
    "Generated from the GraphQL schema by `trellis docs`; do not edit by hand (a test fails when stale)."
)

# What each value of EventType means on a stream (DESIGN.md, "Rules that hold across every issue").
EVENT_TYPE_MEANINGS = {
    "METADATA": "Always first: the whole current state, so a (re)subscriber misses nothing.",
    "NODE_UPDATE": "One node (or the streamed object) changed.",
    "WORKFLOW_SYNC": "A later full resync (after a relist, an event-bus reconnect or a dropped queue): "
    "replace what you hold with it.",
    "ERROR": "Something went wrong; `message` says what. The stream stays open.",
    "COMPLETE": "The last event of a stream that ends (`runStatus`, builds, imports); `workflowStatus` stays "
    "open.",
    "DRIFT": "The cluster differs from what was applied (reserved).",
    "PRESENCE": "Who else is looking at the workflow (reserved).",
}

CLOSE_CODES = (
    ("1000", "normal closure (the client or a finished stream ended it)"),
    (
        "1012",
        "service restart: the server is stopping; reconnect (to another replica) and resubscribe — the "
        "first event is `METADATA` again",
    ),
    ("4400", "a malformed message"),
    ("4401", "unauthorised: a subscribe before `connection_ack`"),
    (
        "4403",
        "forbidden: the `connection_init` token is invalid, or the page's Origin is not allowed "
        "(`TRELLIS_WEBSOCKET_ORIGINS`)",
    ),
    ("4408", "no `connection_init` within the timeout"),
    ("4409", "a duplicate subscription id"),
    ("4429", "too many `connection_init` messages"),
)


def current_schema() -> GraphQLSchema:
    from strawberry.printer import print_schema

    from schema.root import build_schema as build_strawberry_schema

    return build_schema(print_schema(build_strawberry_schema()))


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def _paragraph(text: str | None) -> str:
    return "\n".join(line.rstrip() for line in (text or "").strip().splitlines())


def _default(value: GraphQLArgument | GraphQLInputField) -> str:
    literal = value.ast_node.default_value if value.ast_node is not None else None
    if literal is not None:  # graphql-core 3.3 keeps an SDL default as its literal
        printed = print_ast(literal)
        return "" if printed == "null" else f"`{printed}`"
    if value.default_value is Undefined:
        return ""
    node = ast_from_value(value.default_value, value.type)
    return f"`{print_ast(node)}`" if node is not None else ""


def _signature(name: str, field: GraphQLField) -> str:
    args = ", ".join(f"{arg}: {spec.type}" for arg, spec in field.args.items())
    return f"{name}({args}): {field.type}" if args else f"{name}: {field.type}"


def _table(header: str, rows: Iterable[tuple[str, str, str, str]]) -> Iterator[str]:
    listed = list(rows)
    if not listed:
        return
    yield f"| {header} | Type | Default | Description |"
    yield "| --- | --- | --- | --- |"
    for name, type_, default, description in listed:
        yield f"| `{name}` | `{type_}` | {default} | {_cell(description)} |"
    yield ""


def _arguments(field: GraphQLField) -> Iterator[str]:
    yield from _table(
        "Argument",
        ((name, str(arg.type), _default(arg), arg.description or "") for name, arg in field.args.items()),
    )


def _inputs(field: GraphQLField) -> Iterator[str]:
    for name, arg in field.args.items():
        named = get_named_type(arg.type)
        if isinstance(named, GraphQLInputObjectType):
            yield f"`{name}` — `{named.name}`: {_cell(named.description)}"
            yield ""
            yield from _table(
                "Field",
                (
                    (f, str(spec.type), _default(spec), spec.description or "")
                    for f, spec in named.fields.items()
                ),
            )


def _operations(title: str, root: GraphQLObjectType | None, *, expand_inputs: bool) -> Iterator[str]:
    if root is None:
        return
    yield f"## {title}"
    yield ""
    for name in sorted(root.fields):
        field = root.fields[name]
        yield f"### `{name}`"
        yield ""
        yield f"`{_signature(name, field)}`"
        yield ""
        if field.deprecation_reason:
            yield f"**Deprecated:** {_cell(field.deprecation_reason)}"
            yield ""
        if field.description:
            yield _paragraph(field.description)
            yield ""
        if expand_inputs and all(
            isinstance(get_named_type(a.type), GraphQLInputObjectType) for a in field.args.values()
        ):
            yield from _inputs(field)
        else:
            yield from _arguments(field)


def operations_markdown(schema: GraphQLSchema) -> str:
    lines = [
        "# GraphQL operations",
        "",
        REGENERATE,
        "",
        "Every operation is served at `/graphql` (queries and mutations over HTTP POST, subscriptions over "
        "WebSocket with the `graphql-transport-ws` or the legacy `graphql-ws` protocol). Send "
        "`Authorization: Bearer <token>` (a sign-in token or a personal API token); for subscriptions, put "
        "it in the `connection_init` payload. Errors carry `extensions.code` (one of "
        + ", ".join(f"`{v}`" for v in _enum_values(schema, "ErrorCode"))
        + "). The event types of the subscriptions are in [events.md](events.md).",
        "",
    ]
    lines += _operations("Queries", schema.query_type, expand_inputs=False)
    lines += _operations("Mutations", schema.mutation_type, expand_inputs=True)
    lines += _operations("Subscriptions", schema.subscription_type, expand_inputs=False)
    return "\n".join(lines).rstrip() + "\n"


def _enum_values(schema: GraphQLSchema, name: str) -> list[str]:
    enum = schema.get_type(name)
    return list(enum.values) if isinstance(enum, GraphQLEnumType) else []


def _enum(enum: GraphQLEnumType, meanings: dict[str, str]) -> Iterator[str]:
    yield f"`{enum.name}`: {_cell(enum.description)}"
    yield ""
    yield "| Value | Meaning |"
    yield "| --- | --- |"
    for value, spec in enum.values.items():
        yield f"| `{value}` | {_cell(spec.description or meanings.get(value, ''))} |"
    yield ""


def _event_type(event: GraphQLNamedType, seen: set[str]) -> Iterator[str]:
    if not isinstance(event, GraphQLObjectType):
        return
    yield f"Each event is a `{event.name}`: {_cell(event.description)}"
    yield ""
    yield "| Field | Type | Description |"
    yield "| --- | --- | --- |"
    enums: list[GraphQLEnumType] = []
    for name, field in event.fields.items():
        yield f"| `{name}` | `{field.type}` | {_cell(field.description)} |"
        named = get_named_type(field.type)
        if isinstance(named, GraphQLEnumType) and named.name not in seen:
            enums.append(named)
    yield ""
    for enum in enums:
        seen.add(enum.name)
        yield from _enum(enum, EVENT_TYPE_MEANINGS if enum.name == "EventType" else {})


def events_markdown(schema: GraphQLSchema) -> str:
    lines = [
        "# Subscription events",
        "",
        REGENERATE,
        "",
        "Every status stream starts with `METADATA` (the current state), so a client that reconnects — after "
        "a network break or a server restart — resubscribes and misses nothing. A slow client never holds "
        "others up: when it falls behind, it gets a `WORKFLOW_SYNC` (or the stream's full state) instead of "
        "the events it missed. Every open stream re-checks the session and the workspace access every few "
        "seconds (`TRELLIS_SUBSCRIPTION_RECHECK_SECONDS`).",
        "",
        "## WebSocket close codes",
        "",
        "| Code | Meaning |",
        "| --- | --- |",
        *(f"| {code} | {_cell(meaning)} |" for code, meaning in CLOSE_CODES),
        "",
    ]
    root = schema.subscription_type
    seen: set[str] = set()
    for name in sorted(root.fields if root else {}):
        field = root.fields[name]  # type: ignore[union-attr]
        lines += [f"## `{name}`", "", f"`{_signature(name, field)}`", ""]
        if field.description:
            lines += [_paragraph(field.description), ""]
        lines += _arguments(field)
        lines += _event_type(get_named_type(field.type), seen)
    return "\n".join(lines).rstrip() + "\n"


def render_docs(schema: GraphQLSchema | None = None) -> dict[str, str]:
    """File name → content of every generated page."""
    schema = schema or current_schema()
    return {OPERATIONS: operations_markdown(schema), EVENTS: events_markdown(schema)}


def write_docs(output_dir: Path, *, check: bool) -> int:
    pages = render_docs()
    if check:
        stale = [name for name, text in pages.items() if _read(output_dir / name) != text]
        if stale:
            print(
                f"{', '.join(stale)} in {output_dir} differ from the schema: run `trellis docs`",
                file=sys.stderr,
            )
            return 1
        return 0
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, text in pages.items():
        (output_dir / name).write_text(text)
        print(f"wrote {output_dir / name}")
    return 0


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None
