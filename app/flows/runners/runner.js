// Trellis's Node.js runner: calls the entry point of main.js with the step's input and writes one result
// envelope (the contract is in Trellis's app/flows/runtimes.py).
//
// Node 18 or later, no packages: it runs in a stock node image, as a non-root user, on a read-only root
// filesystem. main.js may be CommonJS or an ES module. Everything the user's code prints is the step's log;
// the envelope goes only to the result path. Exit code 0 with an output or posted envelope, 1 with an error.
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { pathToFileURL } = require("node:url");

const SOURCE_FILE = "main.js";
const INPUT_FILE = "input.json";
const POST_TIMEOUT_MS = 60000;

function intEnv(name, fallback) {
  const value = Number.parseInt(process.env[name] || "", 10);
  return Number.isFinite(value) ? value : fallback;
}

const STEP_DIR = process.env.TRELLIS_STEP_DIR || __dirname;
const ENTRYPOINT = process.env.TRELLIS_ENTRYPOINT || "main";
const RESULT_PATH = process.env.TRELLIS_RESULT_PATH || "/dev/termination-log";
const INLINE_MAX = intEnv("TRELLIS_RESULT_INLINE_MAX", 4000);
const OUTPUT_MAX = intEnv("TRELLIS_OUTPUT_MAX", 1048576);
const OUTPUT_URL = process.env.TRELLIS_OUTPUT_URL || "";
const STEP_TOKEN = process.env.TRELLIS_STEP_TOKEN || "";

class StepFailed extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

// The error envelope (ASCII JSON), its message cut so that it fits in INLINE_MAX bytes.
function errorEnvelope(kind, message) {
  let text = String(message);
  for (;;) {
    const data = JSON.stringify({ error: { type: kind, message: text } }).replace(
      /[\u007f-\uffff]/g,
      (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
    );
    if (data.length <= INLINE_MAX || text === "") return data;
    const keep = Math.max(0, text.length - (data.length - INLINE_MAX) - 1);
    text = keep > 0 ? text.slice(0, keep) + "\u2026" : "";
  }
}

const ESM_SYNTAX = /Cannot use import statement|Unexpected token 'export'|await is only valid|import\.meta/;

// The user's module: required as CommonJS, imported as an ES module when it is one.
async function loadModule() {
  const file = path.join(STEP_DIR, SOURCE_FILE);
  try {
    return require(file);
  } catch (err) {
    if (err && (err.code === "ERR_REQUIRE_ESM" || err.code === "ERR_REQUIRE_ASYNC_MODULE")) {
      return await import(pathToFileURL(file).href);
    }
    if (err instanceof SyntaxError && ESM_SYNTAX.test(err.message)) {
      // An older Node parses a .js file as CommonJS: import a copy named .mjs (the step dir is read-only).
      const copy = path.join(process.env.TMPDIR || os.tmpdir(), "trellis-main.mjs");
      fs.copyFileSync(file, copy);
      return await import(pathToFileURL(copy).href);
    }
    throw err;
  }
}

function entrypointOf(mod) {
  const candidates =
    ENTRYPOINT === "default"
      ? [mod && mod.default, mod]
      : [mod && mod[ENTRYPOINT], mod && mod.default && mod.default[ENTRYPOINT]];
  const found = candidates.find((c) => typeof c === "function");
  if (!found) throw new StepFailed("EntrypointError", `${SOURCE_FILE} has no function ${ENTRYPOINT}`);
  return found;
}

function finiteOnly(_key, value) {
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new TypeError(`${value} is not a JSON number`);
  }
  return value;
}

async function post(data) {
  let answer;
  try {
    answer = await fetch(OUTPUT_URL, {
      method: "POST",
      headers: { Authorization: `Bearer ${STEP_TOKEN}`, "Content-Type": "application/json" },
      body: data,
      signal: AbortSignal.timeout(POST_TIMEOUT_MS),
    });
  } catch (err) {
    const cause = err && err.cause ? `: ${err.cause.message || err.cause}` : "";
    throw new StepFailed("OutputPostError", `posting the output failed: ${err.message}${cause}`);
  }
  if (answer.status < 200 || answer.status >= 300) {
    const reason = `${answer.status} ${answer.statusText}`;
    throw new StepFailed("OutputPostError", `posting the output answered HTTP ${reason}`);
  }
  return JSON.stringify({ posted: data.length });
}

async function envelopeOf(output) {
  let text;
  try {
    text = JSON.stringify(output === undefined ? null : output, finiteOnly);
  } catch (err) {
    throw new StepFailed("OutputError", `the output is not JSON: ${err.message}`);
  }
  if (text === undefined) throw new StepFailed("OutputError", "the output is not JSON");
  const data = Buffer.from(text, "utf8");
  if (data.length > OUTPUT_MAX) {
    throw new StepFailed(
      "OutputTooLarge",
      `the output is ${data.length} bytes of JSON, more than the limit of ${OUTPUT_MAX}`,
    );
  }
  const envelope = Buffer.concat([Buffer.from('{"output":'), data, Buffer.from("}")]);
  if (envelope.length <= INLINE_MAX) return envelope;
  if (!OUTPUT_URL) {
    throw new StepFailed(
      "OutputTooLarge",
      `the output is ${data.length} bytes of JSON, larger than the inline limit of ${INLINE_MAX}, and no ` +
        "output URL is configured",
    );
  }
  return post(data);
}

async function run() {
  let input;
  try {
    input = JSON.parse(fs.readFileSync(path.join(STEP_DIR, INPUT_FILE), "utf8"));
  } catch (err) {
    throw new StepFailed("InputError", `the step's input cannot be read: ${err.message}`);
  }
  let output;
  try {
    const fn = entrypointOf(await loadModule());
    output = await fn(input);
  } catch (err) {
    if (err instanceof StepFailed) throw err;
    const isError = err instanceof Error;
    console.error(isError && err.stack ? err.stack : String(err));
    const kind = isError ? err.name || err.constructor.name : "Error";
    throw new StepFailed(kind, isError ? err.message : String(err));
  }
  return envelopeOf(output);
}

let written = false;

function writeResult(envelope) {
  fs.writeFileSync(RESULT_PATH, envelope);
  written = true;
}

// The code's promise never settled and nothing is left to run.
process.on("beforeExit", () => {
  if (!written) {
    const message = `${ENTRYPOINT} in ${SOURCE_FILE} never finished: its promise never settled`;
    writeResult(errorEnvelope("ExitError", message));
    process.exit(1);
  }
});

// The code ended the process itself (process.exit, an uncaught error in a callback): still one envelope.
process.on("exit", (code) => {
  if (!written) {
    process.exitCode = 1;
    const message = `${SOURCE_FILE} ended the process (code ${code}) before returning`;
    writeResult(errorEnvelope("ExitError", message));
  }
});

async function main() {
  let envelope;
  let code = 0;
  try {
    envelope = await run();
  } catch (err) {
    code = 1;
    if (err instanceof StepFailed) {
      envelope = errorEnvelope(err.kind, err.message);
    } else {
      console.error(err && err.stack ? err.stack : String(err));
      envelope = errorEnvelope("RunnerError", String(err));
    }
  }
  writeResult(envelope);
  process.exit(code);
}

main();
