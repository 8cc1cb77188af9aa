"""Workspace secrets of a Function attempt: their values only in the attempt's Secret, given to the container
as variables of their names by ``secretKeyRef`` (never as values in the Job, never mounted as files)."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

from app.domain.flows.function_jobs import (
    SECRET_KEY_PREFIX,
    TOKEN_KEY,
    job_manifest,
    reserved_env,
    secret_manifest,
    step_resources,
)
from app.flows.runtimes import STEP_TOKEN_ENV
from tests.flows.test_function_job_manifests import SETTINGS, attempt, program

CANARY = "sk-canary-7f3a9c"


def with_secrets() -> tuple[dict[str, object], dict[str, object]]:
    step = replace(program(), secret_env={"STRIPE_KEY": CANARY, "DB_PASSWORD": "hunter2"})
    job = job_manifest(attempt(), step, SETTINGS, resources=step_resources({}))
    return job, secret_manifest(attempt(), step, "the-token")


def test_each_secret_is_an_env_entry_by_secret_key_ref_to_the_attempts_secret() -> None:
    job, _ = with_secrets()
    [container] = job["spec"]["template"]["spec"]["containers"]  # type: ignore[index]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    name = attempt().name
    assert refs == {
        STEP_TOKEN_ENV: {"name": name, "key": TOKEN_KEY},
        "DB_PASSWORD": {"name": name, "key": SECRET_KEY_PREFIX + "DB_PASSWORD"},
        "STRIPE_KEY": {"name": name, "key": SECRET_KEY_PREFIX + "STRIPE_KEY"},
    }


def test_the_values_are_in_the_secret_only_and_never_mounted() -> None:
    job, secret = with_secrets()
    assert CANARY not in json.dumps(job) and "hunter2" not in json.dumps(job)
    data = secret["data"]
    assert base64.b64decode(data[SECRET_KEY_PREFIX + "STRIPE_KEY"]).decode() == CANARY  # type: ignore[index]
    assert base64.b64decode(data[SECRET_KEY_PREFIX + "DB_PASSWORD"]).decode() == "hunter2"  # type: ignore[index]
    [volume] = [v for v in job["spec"]["template"]["spec"]["volumes"] if "secret" in v]  # type: ignore[index]
    mounted = {item["key"] for item in volume["secret"]["items"]}
    assert not any(key.startswith(SECRET_KEY_PREFIX) for key in mounted) and TOKEN_KEY not in mounted
    assert secret["immutable"] is True


def test_a_step_without_secrets_gets_no_secret_entries_and_its_repr_hides_values() -> None:
    job = job_manifest(attempt(), program(), SETTINGS, resources=step_resources({}))
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert [e["name"] for e in container["env"] if "valueFrom" in e] == [STEP_TOKEN_ENV]
    assert CANARY not in repr(replace(program(), secret_env={"X": CANARY}))


def test_the_runner_contracts_variables_are_reserved() -> None:
    reserved = reserved_env(program())
    assert {"HOME", "TMPDIR", STEP_TOKEN_ENV, "TRELLIS_ENTRYPOINT"} <= reserved
    assert "STRIPE_KEY" not in reserved
