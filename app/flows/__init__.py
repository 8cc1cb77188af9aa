"""Flow step executors (adapters of :class:`app.ports.StepExecutor`): the steps that run inside Trellis.

``steps`` holds Start, End, Merge (pass-through), Condition (JMESPath) and HttpRequest (through the egress
guard, over a pinned transport). Function steps (Kubernetes Jobs, the local subprocess executor) are not here
yet.
"""
