"""Networking kinds: Service, Ingress, NetworkPolicy."""

from __future__ import annotations

from app.domain.kinds.common import PROTOCOLS, linked_list, metadata_fields, port
from app.domain.kinds.spec import (
    FieldSpec,
    NodeKindSpec,
    boolean,
    enum,
    integer,
    obj,
    obj_list,
    string,
    string_list,
    string_map,
)

SERVICE = NodeKindSpec(
    kind="Service",
    api_version="v1",
    namespaced=True,
    category="networking",
    description="A stable address in front of the pods of one workload.",
    fields=(
        *metadata_fields(),
        enum(
            "serviceType",
            "How the Service is exposed.",
            ("ClusterIP", "NodePort", "LoadBalancer"),
            default="ClusterIP",
        ),
        port("port", "The port the Service listens on.", default=80),
        port("targetPort", "The pods' port; set from the connected workload's port, else the Service port."),
        obj_list(
            "ports",
            "Several ports instead of port/targetPort.",
            (
                string("name", "Port name (required when there are several)."),
                enum("protocol", "Protocol.", PROTOCOLS, default="TCP"),
                port("port", "The port the Service listens on.", required=True),
                port("targetPort", "The pods' port; defaults to port."),
                integer("nodePort", "Node port (NodePort and LoadBalancer).", minimum=30000, maximum=32767),
            ),
        ),
        string_map("selector", "Pod labels to select when no workload is connected."),
        enum(
            "sessionAffinity",
            "Send a client to the same pod (ClientIP) or not (None).",
            ("None", "ClientIP"),
            default="None",
        ),
        string("loadBalancerIP", "Requested IP of a LoadBalancer (when the provider supports it)."),
        string_list("loadBalancerSourceRanges", "CIDRs allowed to reach a LoadBalancer."),
        enum(
            "externalTrafficPolicy",
            "Keep external traffic on the node it arrives at (Local).",
            ("Cluster", "Local"),
        ),
        string("targetApp", "Name of the connected workload (set by the edge).", linked=True),
        string("_linkedDeployment", "Id of the connected workload node (set by the edge).", linked=True),
    ),
    aliases=("service", "svc"),
)

INGRESS_PATH_FIELDS: tuple[FieldSpec, ...] = (
    string("id", "Path id; edges from this path carry it as sourceHandle.", required=True),
    string("path", "URL path, starting with /.", default="/"),
    enum(
        "pathType",
        "How the path is matched.",
        ("Prefix", "Exact", "ImplementationSpecific"),
        default="Prefix",
    ),
    string("serviceName", "Backend Service name; set by an edge to a Service node."),
    port("servicePort", "Backend Service port; set by an edge to a Service node."),
    string("_linkedService", "Id of the connected Service node (set by the edge).", linked=True),
)

INGRESS = NodeKindSpec(
    kind="Ingress",
    api_version="networking.k8s.io/v1",
    namespaced=True,
    category="networking",
    description="Routes HTTP(S) requests for a host and paths to Services.",
    fields=(
        *metadata_fields(),
        string("host", "Host name to route, e.g. app.example.com or *.example.com; empty matches all."),
        obj_list(
            "paths",
            "Paths and the Services they go to; connect a path's handle to a Service.",
            INGRESS_PATH_FIELDS,
        ),
        string("ingressClassName", "Ingress controller class, e.g. nginx; empty means the cluster default."),
        boolean("tlsEnabled", "Serve HTTPS.", default=False),
        string("tlsSecretName", "Secret holding the TLS certificate and key."),
        string_list("tlsHosts", "Host names the certificate covers; defaults to host."),
    ),
    aliases=("ingress",),
)

_PEER = (
    string("id", "Peer id.", required=True),
    enum("type", "What the peer selects.", ("podSelector", "namespaceSelector", "ipBlock"), required=True),
    string_map("podSelector", "Pod labels the peer selects."),
    string_map("namespaceSelector", "Namespace labels the peer selects."),
    obj(
        "ipBlock",
        "An IP range.",
        (
            string("cidr", "CIDR, e.g. 10.0.0.0/16.", required=True),
            string_list("except", "CIDRs inside cidr to leave out."),
        ),
    ),
    string("_linkedWorkload", "Id of the connected workload node (set by the edge).", linked=True),
)
_RULE_PORTS = obj_list(
    "ports",
    "Ports the rule allows; none means all.",
    (enum("protocol", "Protocol.", PROTOCOLS, default="TCP"), port("port", "Port number.")),
)


def _rules(name: str, peers: str, what: str) -> FieldSpec:
    return obj_list(
        name,
        f"{what} rules; connect a rule's handle to a workload to add it as a peer.",
        (
            string("id", "Rule id; edges from this rule carry it as sourceHandle.", required=True),
            obj_list(peers, f"Peers the rule allows traffic {'from' if peers == 'from' else 'to'}.", _PEER),
            _RULE_PORTS,
        ),
    )


NETWORK_POLICY = NodeKindSpec(
    kind="NetworkPolicy",
    api_version="networking.k8s.io/v1",
    namespaced=True,
    category="networking",
    description="Allows traffic to and from the selected pods; everything else is denied.",
    fields=(
        *metadata_fields(),
        string_map(
            "podSelector",
            "Pods the policy applies to; empty selects every pod of the namespace. Set "
            "by an edge from the output handle when exactly one workload is connected.",
        ),
        string_list(
            "policyTypes",
            "Directions the policy governs.",
            options=("Ingress", "Egress"),
            default=("Ingress",),
        ),
        _rules("ingressRules", "from", "Incoming traffic"),
        _rules("egressRules", "to", "Outgoing traffic"),
        linked_list("_linkedWorkloads", "workload"),
    ),
    aliases=("networkpolicy", "netpol"),
)

NETWORKING: tuple[NodeKindSpec, ...] = (SERVICE, INGRESS, NETWORK_POLICY)
