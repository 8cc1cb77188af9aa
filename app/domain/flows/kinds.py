"""Flow node kinds: the steps of a FLOW workflow, their fields and their ports.

A flow is a graph of steps. Each kind declares its in-ports and out-ports; an edge runs from an out-port of
its source (``sourceHandle``) to an in-port of its target (``targetHandle``). Either handle may be left
empty when the kind has one obvious port (:attr:`FlowKindSpec.default_out`, the single in-port).

What travels along an edge is the JSON a step returns (its *output*). Expressions (a Condition's
``expression``, a Function's ``inputMapping`` values) are JMESPath over one object — see
:mod:`app.domain.flows.expressions` for its shape (``steps.<nodeId>.output``, ``input``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from app.domain.kinds.common import quantity
from app.domain.kinds.spec import (
    FieldSpec,
    FieldType,
    enum,
    integer,
    obj,
    string,
    string_list,
    string_map,
)

FLOW_CATEGORY = "flow"
RUNTIMES = ("python", "node", "bash")
RETRY_ON = ("ERROR", "TIMEOUT", "OOM")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
MERGE_MODES = ("ALL", "ANY")
AI_PROVIDERS = ("OPENAI_COMPATIBLE", "ANTHROPIC")
MAX_AI_TOKENS = 200_000
MAX_TIMEOUT_SECONDS = 86_400


@dataclass(frozen=True, slots=True)
class PortSpec:
    """A port of a flow kind. ``many`` (in-ports only): more than one edge may end here."""

    name: str
    description: str
    many: bool = False


@dataclass(frozen=True, slots=True)
class FlowKindSpec:
    """A flow node kind: its fields (as :class:`FieldSpec`, sanitised like the Kubernetes kinds') and ports.

    ``default_out`` is the out-port an edge with no ``sourceHandle`` leaves from (``None``: the edge must
    name one, as a Condition's ``true``/``false``).
    """

    kind: str
    description: str
    fields: tuple[FieldSpec, ...]
    in_ports: tuple[PortSpec, ...]
    out_ports: tuple[PortSpec, ...]
    default_out: str | None
    category: str = FLOW_CATEGORY

    def field(self, name: str) -> FieldSpec | None:
        """The top-level field called ``name``, if any."""
        return next((spec for spec in self.fields if spec.name == name), None)

    def out_port(self, name: str) -> PortSpec | None:
        """The out-port called ``name``, if any."""
        return next((port for port in self.out_ports if port.name == name), None)

    def in_port(self, name: str) -> PortSpec | None:
        """The in-port called ``name``, if any."""
        return next((port for port in self.in_ports if port.name == name), None)


_INPUT = PortSpec("input", "The output of the step connected here is this step's input.")
_OUTPUT = PortSpec("output", "What the step returns (JSON), the input of the steps connected here.")
_ERROR = PortSpec(
    "error",
    "Taken instead of `output` when the step failed after all its retries: the steps connected here get "
    "`{error: {stage, message}}` and the run goes on. Left unconnected, a failed step fails the run.",
)

TIMEOUT = integer(
    "timeoutSeconds",
    f"Seconds one attempt may take before it fails with TIMEOUT (at most {MAX_TIMEOUT_SECONDS}).",
    minimum=1,
    maximum=MAX_TIMEOUT_SECONDS,
    default=300,
)

INPUT_MAPPING = string_map(
    "inputMapping",
    "The step's input, built field by field: name → a JMESPath expression over "
    "`{steps: {<nodeId>: {output}}, input}`, e.g. `steps.fetch.output.invoices[0].id`. `steps.<nodeId>` "
    "must name a step upstream of this one (one that always runs before it); `input` is the output "
    "arriving on this step's in-port. Empty: the input is `input` itself.",
)

RETRY = obj(
    "retry",
    "When a failed attempt is tried again.",
    (
        integer(
            "attempts",
            "Attempts in all, the first included (1: no retry).",
            minimum=1,
            maximum=10,
            default=1,
        ),
        integer(
            "backoffSeconds",
            "Seconds between attempts, doubled after each.",
            minimum=0,
            maximum=3600,
            default=10,
        ),
        string_list("on", "Which failures are retried.", options=RETRY_ON, default=("ERROR", "TIMEOUT")),
    ),
)

START = FlowKindSpec(
    kind="Start",
    description="Where a run begins: its output is the run's trigger data (an empty object when none).",
    fields=(),
    in_ports=(),
    out_ports=(PortSpec("output", "The run's trigger data."),),
    default_out="output",
)

END = FlowKindSpec(
    kind="End",
    description="Where a branch of the flow finishes; its input becomes the run's result.",
    fields=(),
    in_ports=(PortSpec("input", "The result of the branch; several branches may end here.", many=True),),
    out_ports=(),
    default_out=None,
)

FUNCTION = FlowKindSpec(
    kind="Function",
    description="Runs code (Python, Node.js or Bash) in an isolated, short-lived pod; returns JSON.",
    fields=(
        enum("runtime", "The language of the code.", RUNTIMES, default="python"),
        FieldSpec(
            "code",
            FieldType.TEXT,
            "The source, inline (kept exactly). Give either code or fileId.",
        ),
        string(
            "fileId", "Id of a workspace file holding the source (see `files`). Give either code or fileId."
        ),
        string(
            "entrypoint",
            "What is called: for python and node the function in the source, called with the step's input "
            "and returning its output; for bash ignored (the script reads its input as JSON on stdin and "
            "writes its output as JSON on stdout).",
            default="main",
        ),
        INPUT_MAPPING,
        TIMEOUT,
        obj(
            "resources",
            "The most one attempt may use (the pod's limits).",
            (
                quantity("cpu", "CPU, in cores (0.5) or millicores (500m).", default="500m"),
                quantity("memory", "Memory, e.g. 256Mi; more ends the attempt with OOM.", default="256Mi"),
            ),
        ),
        RETRY,
        string_list("secrets", "Names of workspace secrets given to the code as environment variables."),
    ),
    in_ports=(_INPUT,),
    out_ports=(_OUTPUT, _ERROR),
    default_out="output",
)

HTTP_REQUEST = FlowKindSpec(
    kind="HttpRequest",
    description="Calls an HTTP API from Trellis (no pod); its output is {status, headers, body}.",
    fields=(
        enum("method", "HTTP method.", HTTP_METHODS, default="GET"),
        string(
            "urlTemplate",
            "The URL; `{{ expression }}` parts are JMESPath over the same object as inputMapping, e.g. "
            "`https://api.example.com/invoices/{{ input.id }}`.",
            required=True,
        ),
        string_map("headers", "Request headers (values may hold `{{ expression }}` parts)."),
        FieldSpec("body", FieldType.TEXT, "Request body (may hold `{{ expression }}` parts)."),
        string_list(
            "expectedStatus",
            "Status codes that count as success: codes (200) or classes (2xx). Any other fails the step.",
            default=("2xx",),
        ),
        TIMEOUT,
    ),
    in_ports=(_INPUT,),
    out_ports=(_OUTPUT, _ERROR),
    default_out="output",
)

CONDITION = FlowKindSpec(
    kind="Condition",
    description="Routes the flow: the `true` branch runs when the expression is truthy, else `false`; the "
    "branch not taken is SKIPPED. Its output is its input, unchanged.",
    fields=(
        string(
            "expression",
            "A JMESPath expression over `{steps: {<nodeId>: {output}}, input}`, e.g. "
            "length(input.invoices) > `0`; truthy as JMESPath defines it (not false, null or empty).",
            required=True,
        ),
    ),
    in_ports=(_INPUT,),
    out_ports=(
        PortSpec("true", "Taken when the expression is truthy."),
        PortSpec("false", "Taken when the expression is falsy."),
    ),
    default_out=None,
)

MERGE = FlowKindSpec(
    kind="Merge",
    description="Joins branches: waits for ALL its inputs (output: `{<nodeId>: output}` of each) or the "
    "first of ANY (output: that input).",
    fields=(enum("mode", "Wait for all inputs or for the first.", MERGE_MODES, default="ALL"),),
    in_ports=(PortSpec("input", "The branches to join; any number of edges.", many=True),),
    out_ports=(_OUTPUT,),
    default_out="output",
)

AI_AGENT = FlowKindSpec(
    kind="AiAgent",
    description="Asks a language model (an OpenAI-compatible chat-completions endpoint or Anthropic's "
    "Messages API); its output is {answer, model, tokensIn, tokensOut, latencyMs, finishReason}.",
    fields=(
        enum(
            "provider",
            "The API spoken: OPENAI_COMPATIBLE (OpenAI, vLLM, Ollama, LiteLLM… at baseUrl) or ANTHROPIC.",
            AI_PROVIDERS,
            default="OPENAI_COMPATIBLE",
        ),
        string(
            "baseUrl",
            "The API's base URL, e.g. `https://api.openai.com/v1` (requests go to "
            "`<baseUrl>/chat/completions`) or `http://ollama:11434/v1`; required for OPENAI_COMPATIBLE. "
            "For ANTHROPIC it defaults to "
            "`https://api.anthropic.com` (requests go to `<baseUrl>/v1/messages`).",
        ),
        string("model", "The model's name as the provider knows it, e.g. gpt-4o-mini.", required=True),
        string(
            "apiKeySecret",
            "The name of the workspace secret holding the API key (read at execution, never shown); "
            "required for ANTHROPIC, optional for a server that needs no key.",
        ),
        FieldSpec("systemPrompt", FieldType.TEXT, "The system prompt, sent as it is."),
        FieldSpec(
            "promptTemplate",
            FieldType.TEXT,
            "The user prompt: a Jinja2 template (sandboxed; an undefined name fails the step) over `input` "
            "(the output arriving on the in-port) and `steps` (`steps.<nodeId>.output`), e.g. "
            "`Summarise: {{ input.text }}` or `{{ input | tojson }}`.",
            required=True,
        ),
        FieldSpec(
            "temperature",
            FieldType.NUMBER,
            "Sampling temperature (0 to 2; the provider's default when empty).",
            minimum=0,
            maximum=2,
        ),
        integer(
            "maxTokens",
            "The most tokens the answer may have.",
            minimum=1,
            maximum=MAX_AI_TOKENS,
            default=1024,
        ),
        FieldSpec(
            "responseSchema",
            FieldType.TEXT,
            "Optional JSON Schema (draft 2020-12, as JSON text) the answer must satisfy: the model is asked "
            "for JSON, the answer is parsed and validated, and an invalid one is sent back once with the "
            "validation error to be repaired; the output's `answer` is then the parsed JSON.",
        ),
        TIMEOUT,
        RETRY,
    ),
    in_ports=(_INPUT,),
    out_ports=(_OUTPUT, _ERROR),
    default_out="output",
)

FLOW_KINDS: Mapping[str, FlowKindSpec] = MappingProxyType(
    {spec.kind: spec for spec in (START, END, FUNCTION, HTTP_REQUEST, CONDITION, MERGE, AI_AGENT)}
)
"""Every flow node kind, keyed by its name."""
