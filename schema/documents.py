"""A cache of parsed documents, so repeated operations skip parsing (validation is cached separately).

Strawberry's own ``ParserCache`` raises syntax errors from its ``on_parse`` hook, which ends the
operation outside the extensions' ``on_operation`` and so skips our error mapping. This one leaves a
document that does not parse to Strawberry, which reports it as an ordinary result error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from functools import cache, lru_cache
from typing import Any

from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension


@cache
def _cached_parse(maxsize: int) -> Callable[..., DocumentNode]:
    return lru_cache(maxsize=maxsize)(parse)


class DocumentCache(SchemaExtension):
    def __init__(self, *, maxsize: int) -> None:
        super().__init__()
        self._parse = _cached_parse(maxsize)

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            options: dict[str, Any] = dict(context.parse_options)
            # On a syntax error Strawberry parses it again and returns the error as a result error.
            with contextlib.suppress(GraphQLError):
                context.graphql_document = self._parse(context.query, **options)
        yield
