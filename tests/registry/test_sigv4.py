"""SigV4 against AWS's published Signature Version 4 test suite (``aws-sig-v4-test-suite``: the
``AKIDEXAMPLE`` keys, ``us-east-1``, service ``service``, 2015-08-30T12:36:00Z)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.registry.sigv4 import AwsCredentials, canonical_request, sign

SUITE = AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
AT = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)
SCOPE = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
STS_TOKEN = (
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8Y"
    "UuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6f"
    "E8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQ"
    "wj2ICCR/oLxBA=="
)

CASES = [
    ("get-vanilla", "GET", "https://example.amazonaws.com/", {}, b"", None,
     "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("get-vanilla-query-order-key-case", "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", {},
     b"", None,
     "SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
    ("post-vanilla", "POST", "https://example.amazonaws.com/", {}, b"", None,
     "SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    ("post-header-value-case", "POST", "https://example.amazonaws.com/", {"My-Header1": "VALUE1"}, b"", None,
     "SignedHeaders=host;my-header1;x-amz-date, "
     "Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"),
    ("post-x-www-form-urlencoded", "POST", "https://example.amazonaws.com/",
     {"Content-Type": "application/x-www-form-urlencoded"}, b"Param1=value1", None,
     "SignedHeaders=content-type;host;x-amz-date, "
     "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
    ("post-sts-header-before", "POST", "https://example.amazonaws.com/", {}, b"", STS_TOKEN,
     "SignedHeaders=host;x-amz-date;x-amz-security-token, "
     "Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "method", "url", "headers", "body", "token", "expected"), CASES)
def test_signatures_match_the_aws_test_suite(
    name: str, method: str, url: str, headers: dict[str, str], body: bytes, token: str | None, expected: str
) -> None:
    credentials = AwsCredentials(SUITE.access_key_id, SUITE.secret_access_key, token)

    signed = sign(
        method, url, headers, body, credentials=credentials, region="us-east-1", service="service", at=AT
    )

    assert signed["Authorization"] == f"{SCOPE}, {expected}", name
    assert signed["X-Amz-Date"] == "20150830T123600Z"
    assert signed["Host"] == "example.amazonaws.com"
    assert signed.get("X-Amz-Security-Token") == token


def test_the_canonical_request_of_get_vanilla_is_the_published_one() -> None:
    text, signed = canonical_request(
        "GET",
        "https://example.amazonaws.com/",
        {"Host": "example.amazonaws.com", "X-Amz-Date": "20150830T123600Z"},
        b"",
    )

    assert signed == "host;x-amz-date"
    assert text == (
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_a_port_other_than_the_default_is_part_of_the_signed_host() -> None:
    signed = sign(
        "POST",
        "https://127.0.0.1:8443/",
        {},
        b"{}",
        credentials=SUITE,
        region="eu-west-1",
        service="ecr",
        at=AT,
    )

    assert signed["Host"] == "127.0.0.1:8443"
    assert "/20150830/eu-west-1/ecr/aws4_request" in signed["Authorization"]
