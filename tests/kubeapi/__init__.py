"""A Kubernetes API test server for the real kubernetes_asyncio client (see README.md here)."""

from .errors import ApiError
from .exec import ExecFailure, ExecSession
from .server import KubeApiServer
from .state import RecordedRequest
from .tls import CertificateAuthority, KeyPair

__all__ = [
    "ApiError",
    "CertificateAuthority",
    "ExecFailure",
    "ExecSession",
    "KeyPair",
    "KubeApiServer",
    "RecordedRequest",
]
