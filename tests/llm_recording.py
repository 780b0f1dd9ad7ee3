"""Recording and replaying LLM calls with vcrpy, shared by every test that meets the LLM.

Cassettes live in ``tests/cassettes/llm/`` and were recorded from llama-cpp-python's server
running Qwen2.5-Coder 1.5B Instruct (GGUF) on 127.0.0.1 (docs/llm.md has the commands). CI
replays them (record mode ``none``); ``INTAKE_RECORD=1`` re-records the selected tests against
the server at ``INTAKE_TEST_LLM_URL``. Requests match on their JSON body, so a changed prompt,
schema or document needs a re-recording; the API key never reaches a cassette.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import vcr
from pydantic import SecretStr

from intake.config import LlmConfig
from intake.extract.llm.client import forget_formats

CASSETTES = Path(__file__).resolve().parent / "cassettes" / "llm"
LLM_URL = os.environ.get("INTAKE_TEST_LLM_URL", "http://127.0.0.1:8080/v1")
LLM_MODEL = os.environ.get("INTAKE_TEST_LLM_MODEL", "qwen2.5-coder-1.5b-instruct")
DUMMY_KEY = "intake-local-dummy-key"
"""The key the recording server was started with (``--api_key``); filtered from cassettes."""
RECORDING = os.environ.get("INTAKE_RECORD") == "1"


# --------------------------------------------------------------------------- cassettes


def _json_body(request: Any) -> Any:
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body


def _same_json_body(r1: Any, r2: Any) -> None:
    assert _json_body(r1) == _json_body(r2), "request body differs from the recorded one"


def _scrub_request(request: Any) -> Any:
    """Secrets never reach a cassette: headers are filtered, JSON bodies scrubbed too."""
    body = _json_body(request)
    if isinstance(body, dict):
        for key in ("api_key", "apiKey", "password"):
            if key in body:
                body[key] = "FILTERED"
        request.body = json.dumps(body).encode("utf-8")
    return request


def cassette_vcr() -> vcr.VCR:
    recorder = vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode="all" if RECORDING else "none",
        match_on=["method", "scheme", "host", "port", "path", "llm_body"],
        filter_headers=["authorization", "api-key", "x-api-key", "openai-organization", "cookie"],
        before_record_request=_scrub_request,
        ignore_hosts=["localhost"],  # the fault-injecting proxy is real, not recorded
        decode_compressed_response=True,
    )
    recorder.register_matcher("llm_body", _same_json_body)
    return recorder


SHARED_CASSETTES = {
    "test_intake_process_extracts_through_the_configured_endpoint": (
        "test_sample_inbox_through_the_llm_path"
    ),
}
"""Tests that send requests another test recorded, and replay them from its cassette."""


@pytest.fixture
def cassette(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Replay (or, with INTAKE_RECORD=1, record) this test's HTTP from its cassette."""
    forget_formats()
    test = request.node.name
    shared = test in SHARED_CASSETTES
    name = SHARED_CASSETTES.get(test, test)
    name = name.replace("[", "-").replace("]", "").replace("/", "_") + ".yaml"
    recording = RECORDING and not shared
    if not recording and not (CASSETTES / name).exists():
        pytest.fail(f"cassette {name} is missing: record it with INTAKE_RECORD=1 (docs/llm.md)")
    # A shared cassette is only ever replayed here: its own test records it.
    mode = "all" if recording else "none"
    with cassette_vcr().use_cassette(name, record_mode=mode) as cass:
        yield cass
    forget_formats()


def llm_config(**overrides: Any) -> LlmConfig:
    values: dict[str, Any] = {
        "base_url": LLM_URL,
        "model": LLM_MODEL,
        "api_key": SecretStr(os.environ.get("INTAKE_TEST_LLM_KEY", DUMMY_KEY)),
        "timeout_seconds": 1800 if RECORDING else 30,
        "max_retries": 1,
        "max_tokens": 1500,
        "token_budget_per_message": 12000,
    }
    values.update(overrides)
    return LlmConfig(**values)
