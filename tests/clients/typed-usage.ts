// A front end's use of the generated client, type-checked by tests/clients/test_typescript_codegen.py with
// `tsc --noEmit --strict` next to the generated ./graphql.ts. It compiles only if the typed documents carry
// the result and variable types of their operations; the @ts-expect-error lines prove that mistakes fail.
import type { ResultOf, TypedDocumentNode, VariablesOf } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import {
  CreateWorkflowDocument,
  type EventType,
  type HealthStatus,
  GetWorkflowDocument,
  FollowWorkflowStatusDocument,
  type FollowWorkflowStatusSubscription,
} from "./graphql.js";
import type { Workflow } from "./schema-types.js";

type Post = (body: string) => Promise<{ data?: unknown; errors?: ReadonlyArray<{ message: string }> }>;

/** Run one typed operation over any transport: the result type follows from the document. */
export async function request<TResult, TVariables>(
  post: Post,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
): Promise<TResult> {
  const body = await post(JSON.stringify({ query: print(document), variables }));
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join("; "));
  return body.data as TResult;
}

export async function openWorkflow(post: Post, id: string): Promise<string> {
  const { workflow } = await request(post, GetWorkflowDocument, { id });
  const nodeKinds: string[] = workflow.nodes.map((node) => node.kind);
  const revision: number = workflow.revision;
  const author: string | undefined = workflow.createdBy?.email;
  // @ts-expect-error a workflow has no `colour`: the selection set is the type
  workflow.colour;
  return `${workflow.name} r${revision} (${nodeKinds.join(", ")}) by ${author ?? "someone"}`;
}

export async function createWorkflow(post: Post, name: string): Promise<string> {
  const variables: VariablesOf<typeof CreateWorkflowDocument> = { input: { name, namespace: "shop" } };
  const created: ResultOf<typeof CreateWorkflowDocument> = await request(post, CreateWorkflowDocument, variables);
  // @ts-expect-error `input.name` is required
  await request(post, CreateWorkflowDocument, { input: { namespace: "shop" } });
  return created.createWorkflow.workflow.id;
}

/** What a canvas does with one workflowStatus event: the enums are closed unions. */
export function paint(event: FollowWorkflowStatusSubscription["workflowStatus"]): Map<string, HealthStatus> {
  const first: EventType = "METADATA";
  // @ts-expect-error event types are upper case
  const wrong: EventType = "metadata";
  const colours = new Map<string, HealthStatus>();
  if (event.type === first || event.type === "NODE_UPDATE" || event.type === "WORKFLOW_SYNC") {
    for (const node of event.nodes) colours.set(node.nodeId, node.health);
  }
  return colours;
}

/** Schema types describe whole objects (every field), e.g. for a normalised cache. */
export function label(workflow: Pick<Workflow, "name" | "namespace" | "revision">): string {
  return `${workflow.namespace}/${workflow.name}@${workflow.revision}`;
}

export const subscriptionText: string = print(FollowWorkflowStatusDocument);
