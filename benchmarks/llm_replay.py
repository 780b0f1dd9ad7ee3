"""Throughput with LLM calls replayed at their recorded latency, at concurrency 1, 4 and 16.

An LLM call takes seconds, so with an endpoint configured the pipeline is bound by waiting,
not by CPU, and throughput depends on how many messages are in flight. This benchmark measures
that without a model: a replay server on 127.0.0.1 answers each request with the response
recorded in a vcrpy cassette, after sleeping the latency recorded with it, and the real worker
(``benchmarks.throughput``) runs with ``concurrency`` processes against it.

Recorded latency comes from the response's ``openai-processing-ms`` header (sent by OpenAI's
API and by llama-cpp-python's server, and kept in the cassette), from the ``timings``
(``prompt_ms`` + ``predicted_ms``) that llama.cpp's server puts in its answer, or, for servers
that report neither, from a file beside the cassette, ``<cassette>.latency.json``:
``{"latency_seconds": [1.92, 2.31, …]}``, one number per interaction in cassette order,
written by the run that recorded it. Interactions with no
recorded latency are not replayed: no latency is ever made up.

intake's own cassettes (``tests/cassettes/llm/``, recorded from llama-cpp-python's server by
``tests/test_llm.py``) carry that header. The workers are configured like the recording
(model, ``max_tokens`` and response format are read from the recorded requests), so their
requests match the recorded ones byte for byte. Each concurrency reports its throughput and
its ``speedup`` over concurrency 1 measured in the same run: a ratio, comparable across
machines, where the absolute numbers are not. With no replayable cassette, or when the pipeline
makes no LLM call, the result says ``skipped`` with the reason and carries no numbers; when a
request matches no recording (a prompt changed since recording) it says ``incomplete``.

    .venv/bin/python -m benchmarks.llm_replay [--cassettes tests/cassettes] [--copies 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from benchmarks.common import ROOT, SAMPLE_INBOX

CASSETTES = ROOT / "tests" / "cassettes"
LLM_PATHS = ("/chat/completions", "/completions", "/responses")
CONCURRENCY = (1, 4, 16)
HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive", "date"}


@dataclass
class Recorded:
    """One recorded LLM request and its response, with the latency it took when recorded."""

    method: str
    path: str
    body_key: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    latency: float
    cassette: str
    request: dict[str, Any] = field(default_factory=dict)


@dataclass
class Replay:
    """Every replayable interaction, and what could not be used."""

    interactions: dict[tuple[str, str, str], Recorded] = field(default_factory=dict)
    cassettes: list[str] = field(default_factory=list)
    without_latency: int = 0


def body_key(body: bytes | str | None) -> str:
    """A request body as a comparable key: JSON canonicalized, anything else as text."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return text


def _latency_of(headers: dict[str, list[str]]) -> float | None:
    for name, values in headers.items():
        if name.lower() == "openai-processing-ms" and values:
            try:
                return float(values[0]) / 1000
            except ValueError:
                return None
    return None


def _latency_in_body(body: bytes) -> float | None:
    """llama.cpp's server reports its own timings in the answer: prompt plus generation."""
    try:
        timings = json.loads(body).get("timings")
    except (ValueError, AttributeError):
        return None
    if not isinstance(timings, dict):
        return None
    parts = [timings.get("prompt_ms"), timings.get("predicted_ms")]
    if not all(isinstance(p, int | float) for p in parts):
        return None
    return float(sum(parts)) / 1000


def _body_bytes(body: Any) -> bytes:
    value = body.get("string", b"") if isinstance(body, dict) else body
    if value is None:
        return b""
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def load_cassettes(folder: Path) -> Replay:
    """Read every vcrpy cassette under ``folder`` and keep its LLM interactions."""
    replay = Replay()
    for path in sorted([*folder.rglob("*.yaml"), *folder.rglob("*.yml")]):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        interactions = data.get("interactions") if isinstance(data, dict) else None
        if not isinstance(interactions, list):
            continue
        sidecar = path.with_name(path.stem + ".latency.json")
        recorded_latencies: list[float] = []
        if sidecar.is_file():
            recorded_latencies = json.loads(sidecar.read_text(encoding="utf-8")).get(
                "latency_seconds", []
            )
        used = False
        for i, item in enumerate(interactions):
            request, response = item.get("request", {}), item.get("response", {})
            uri_path = urlsplit(str(request.get("uri", ""))).path
            if not uri_path.endswith(LLM_PATHS):
                continue
            headers = response.get("headers") or {}
            latency = _latency_of(headers)
            if latency is None:
                latency = _latency_in_body(_body_bytes(response.get("body")))
            if latency is None and i < len(recorded_latencies):
                latency = float(recorded_latencies[i])
            if latency is None:
                replay.without_latency += 1
                continue
            method = str(request.get("method", "POST")).upper()
            key = (method, uri_path, body_key(request.get("body")))
            try:
                sent = json.loads(key[2]) if key[2] else {}
            except ValueError:
                sent = {}
            replay.interactions[key] = Recorded(
                method=method,
                path=uri_path,
                body_key=key[2],
                status=int(response.get("status", {}).get("code", 200)),
                headers=[
                    (name, value)
                    for name, values in headers.items()
                    if name.lower() not in HOP_BY_HOP
                    for value in values
                ],
                body=_body_bytes(response.get("body")),
                latency=latency,
                cassette=str(path.relative_to(folder)),
                request=sent if isinstance(sent, dict) else {},
            )
            used = True
        if used:
            replay.cassettes.append(str(path.relative_to(folder)))
    return replay


class ReplayServer:
    """An HTTP server on 127.0.0.1 that answers recorded requests after their latency."""

    def __init__(self, replay: Replay, latency_scale: float = 1.0) -> None:
        self.replay = replay
        self.latency_scale = latency_scale
        self.served = 0
        self.unmatched: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                key = ("POST", urlsplit(self.path).path, body_key(body))
                recorded = server.replay.interactions.get(key)
                if recorded is None:
                    with server._lock:
                        server.unmatched.append(self.path)
                    self._answer(
                        404, [("Content-Type", "application/json")], b'{"error": "not recorded"}'
                    )
                    return
                time.sleep(recorded.latency * server.latency_scale)
                with server._lock:
                    server.served += 1
                self._answer(recorded.status, recorded.headers, recorded.body)

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL to give intake as ``llm.base_url``."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> ReplayServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _response_format(request: dict[str, Any]) -> str | None:
    """intake's name (``llm.response_format``) for the form a recorded request used."""
    form = request.get("response_format")
    if not isinstance(form, dict):
        return None
    if form.get("type") == "json_schema":
        return "json_schema"
    if form.get("type") == "json_object":
        return "json_object_schema" if "schema" in form else "json_object"
    return None


def recorded_settings(replay: Replay) -> dict[str, str]:
    """``INTAKE_LLM__…`` settings that make the workers send the requests that were recorded.

    The model and the response format are those of the answered (HTTP 200) recordings, the most
    common one; ``max_tokens`` is the largest recorded (classification asks for fewer). The
    format is fixed rather than ``auto``: with ``auto`` every worker would first probe strict
    ``json_schema`` with whatever message it took first, a request recorded only once.
    """
    from collections import Counter

    answered = [r.request for r in replay.interactions.values() if r.status == 200 and r.request]
    models = Counter(str(r["model"]) for r in answered if r.get("model"))
    formats = Counter(f for r in answered if (f := _response_format(r)))
    tokens = [int(r["max_tokens"]) for r in answered if isinstance(r.get("max_tokens"), int)]
    env: dict[str, str] = {}
    if models:
        env["INTAKE_LLM__MODEL"] = models.most_common(1)[0][0]
    if formats:
        env["INTAKE_LLM__RESPONSE_FORMAT"] = formats.most_common(1)[0][0]
    if tokens:
        env["INTAKE_LLM__MAX_TOKENS"] = str(max(tokens))
    return env


def run(
    cassettes: Path = CASSETTES,
    copies: int = 3,
    concurrency: tuple[int, ...] = CONCURRENCY,
    cores: int | None = 2,
    latency_scale: float = 1.0,
) -> dict[str, Any]:
    """Replay the recorded LLM calls at each concurrency, or say why it cannot be done yet.

    ``latency_scale`` multiplies every recorded latency (0.1: ten times faster than recorded,
    for a quick run); it is reported with the result, and the speedups stay ratios of runs
    made with the same scale.
    """
    from benchmarks.throughput import make_messages, measure

    replay = load_cassettes(cassettes) if cassettes.is_dir() else Replay()
    base: dict[str, Any] = {
        "cassettes": replay.cassettes,
        "replayable_interactions": len(replay.interactions),
        "interactions_without_latency": replay.without_latency,
        "latency_scale": latency_scale,
    }
    if not replay.interactions:
        if replay.without_latency:
            reason = (
                f"{replay.without_latency} recorded LLM call(s) under {cassettes} carry no "
                "latency (no openai-processing-ms header, no llama.cpp timings, no "
                "<cassette>.latency.json): record the latency with the cassettes to replay "
                "them. No numbers are reported until then."
            )
        else:
            reason = (
                f"no recorded LLM calls under {cassettes}: the LLM extraction path has no "
                "cassettes yet. This part runs once cassettes recorded from a real endpoint "
                "exist; no numbers are reported until then."
            )
        return {**base, "status": "skipped", "reason": reason}
    settings = recorded_settings(replay)
    base["settings"] = settings
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="intake-bench-llm-") as tmp:
        messages = make_messages(Path(tmp), copies, SAMPLE_INBOX)
        for level in concurrency:
            with ReplayServer(replay, latency_scale) as server:
                env = {
                    **settings,
                    "INTAKE_LLM__BASE_URL": server.url,
                    "INTAKE_LLM__API_KEY": "replay",
                }
                result = measure(messages, level, cores, env=env)
                served, unmatched = server.served, len(server.unmatched)
            entry = {
                "concurrency": level,
                "llm_calls_replayed": served,
                "unmatched_requests": unmatched,
            }
            if served == 0:
                entry["status"] = "skipped"
                entry["reason"] = (
                    "the pipeline made no LLM call with the endpoint configured: the LLM "
                    "extraction path has not landed (or is not enabled); nothing to measure"
                )
            elif unmatched:
                entry["status"] = "incomplete"
                entry["reason"] = (
                    f"{unmatched} request(s) matched no recording (prompts changed since the "
                    "cassettes were recorded): re-record them; throughput is not reported"
                )
            else:
                entry["status"] = "ok"
                entry.update(
                    {
                        k: result[k]
                        for k in (
                            "documents",
                            "wall_seconds",
                            "documents_per_minute",
                            "peak_rss_mib",
                            "stages",
                        )
                    }
                )
            runs.append(entry)
    first = runs[0] if runs and runs[0]["status"] == "ok" else None
    for entry in runs:
        if first is not None and entry["status"] == "ok" and first["documents_per_minute"]:
            # the ratio to concurrency 1 of this same run: what the numbers mean anywhere
            entry["speedup"] = round(
                entry["documents_per_minute"] / first["documents_per_minute"], 2
            )
    status = "ok" if all(r["status"] == "ok" for r in runs) else runs[0]["status"]
    return {**base, "status": status, "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cassettes", type=Path, default=CASSETTES)
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--cores", type=int, default=2, help="pin to this many CPUs (0: all)")
    parser.add_argument(
        "--latency-scale",
        type=float,
        default=1.0,
        help="multiply the recorded latencies (0.1 replays ten times faster)",
    )
    args = parser.parse_args()
    result = run(args.cassettes, args.copies, CONCURRENCY, args.cores or None, args.latency_scale)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
