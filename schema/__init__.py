"""The GraphQL layer of Trellis (Strawberry). ``schema.root.build_schema`` makes the schema."""
