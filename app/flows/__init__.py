"""Flow step executors (adapters of :class:`app.ports.StepExecutor`).

``steps`` holds the steps that run inside Trellis: Start, End, Merge (pass-through), Condition (JMESPath)
and HttpRequest (through the egress guard, over a pinned transport). Function steps run as a Kubernetes
Job per attempt in the flow's cluster (``function_job``) or, opt-in, as a local subprocess
(``local_function``); both hand the same runner (``runners/``, contract in ``runtimes``) what
``function_code.prepare`` built. AiAgent steps ask a language model (``ai_agent``, over the wire shapes of
``llm_providers``); the composition root adds that executor (its Jinja2 sandbox is no import of services).
The engine that walks a flow is :mod:`app.services.flow_engine`.
"""
