// graphql-codegen configuration for tests/clients/test_typescript_codegen.py: a typed client (types of the
// schema, of every example operation, and TypedDocumentNode documents) from schema/schema.graphql and
// schema/operations/*.graphql, written to CODEGEN_OUT (a temporary folder chosen by the test).
import type { CodegenConfig } from "@graphql-codegen/cli";

const out = process.env.CODEGEN_OUT;
if (!out) throw new Error("set CODEGEN_OUT to the folder the generated client goes to");

const shared = {
  strictScalars: true,
  scalars: { DateTime: "string", JSON: "unknown" },
  enumsAsTypes: true,
  useTypeImports: true,
};

const config: CodegenConfig = {
  schema: "../../schema/schema.graphql",
  documents: ["../../schema/operations/*.graphql"],
  emitLegacyCommonJSImports: false,
  generates: {
    // Every type of the schema (what a cache or a form library sees).
    [`${out}/schema-types.ts`]: {
      plugins: ["typescript"],
      config: { ...shared, avoidOptionals: { field: true, inputValue: false, object: true, defaultValue: false } },
    },
    // The operations: result and variable types (with the enums and inputs they use) and TypedDocumentNodes.
    [`${out}/graphql.ts`]: {
      plugins: ["typescript-operations", "typed-document-node"],
      config: shared,
    },
  },
};

export default config;
