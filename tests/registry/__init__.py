"""Tests of the registry adapter: the /v2/ handshake, SigV4, the cloud token exchanges."""
