// The reference graphql-ws client (npm `graphql-ws` over `ws`), driven by tests/clients/test_graphql_ws_client.py.
// One JSON argument: {url, token, query, variables, scenario}. It prints one JSON line per thing that happens:
//   {"event": "connected"}                         after connection_ack
//   {"event": "next", "id": ..., "payload": ...}   a subscription result
//   {"event": "closed", "code": N, "reason": "..."} the socket closed (then the script exits)
// Scenarios:
//   "subscribe"     subscribe to `query` and print every result until the socket closes or the test ends it;
//   "no-init"       hold connection_init back (connectionParams never resolves): the server closes with 4408;
//   "duplicate-id"  start the same subscription twice under one id (generateID): the server closes with 4409.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const { url, token, query, variables = {}, scenario = "subscribe" } = JSON.parse(process.argv[2]);
const print = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  lazy: false,
  retryAttempts: 0,
  shouldRetry: () => false,
  connectionAckWaitTimeout: 30_000,
  generateID: scenario === "duplicate-id" ? () => "same-id" : undefined,
  connectionParams:
    scenario === "no-init" ? () => new Promise(() => {}) : token ? { Authorization: `Bearer ${token}` } : {},
  on: {
    connected: () => print({ event: "connected" }),
    closed: (event) => {
      print({ event: "closed", code: event.code, reason: event.reason });
      process.exit(0);
    },
  },
  onNonLazyError: () => {}, // the close is reported by `closed` above
});

const subscriptions = scenario === "duplicate-id" ? 2 : scenario === "subscribe" ? 1 : 0;
for (let n = 0; n < subscriptions; n += 1) {
  client.subscribe(
    { query, variables },
    {
      next: (payload) => print({ event: "next", id: n, payload }),
      error: () => {}, // a close ends every subscription too; `closed` reports it
      complete: () => print({ event: "complete", id: n }),
    },
  );
}
