"""Flows: workflows of type FLOW, whose nodes are steps run in order by the flow engine.

``kinds`` holds the step kinds with their fields and ports, ``expressions`` the JMESPath rules (what an
expression may read), ``check`` the save-time checks of a flow canvas. Pure: no I/O.
"""

from app.domain.flows.check import check_flow, flow_kinds_in
from app.domain.flows.kinds import FLOW_KINDS, FlowKindSpec, PortSpec

__all__ = ["FLOW_KINDS", "FlowKindSpec", "PortSpec", "check_flow", "flow_kinds_in"]
