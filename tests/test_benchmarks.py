"""The benchmark harness itself: LLM replay from a recorded cassette, distinct message copies.

Timings are never asserted here (speed lives in benchmarks/); these tests check that the
harness replays what was recorded from a real server, refuses to report numbers it does not
have, and feeds the worker messages the store accepts as new.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import vcr

from benchmarks.__main__ import compare
from benchmarks.llm_replay import ReplayServer, load_cassettes
from benchmarks.llm_replay import run as replay_run
from benchmarks.throughput import make_messages
from intake.sources import ingest_paths
from intake.store import Store
from tests.conftest import SAMPLE_INBOX


class _Completions(BaseHTTPRequestHandler):
    """A tiny OpenAI-style endpoint: answers every chat completion with a fixed message."""

    send_timing = True

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = json.loads(body)
        answer = json.dumps(
            {"object": "chat.completion", "model": request["model"], "choices": [{"index": 0}]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.send_timing:
            self.send_header("openai-processing-ms", "7")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        return


def _post(url: str, payload: dict[str, Any]) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _record(folder: Path, send_timing: bool) -> Path:
    """Record one chat completion from a real local server on 127.0.0.1 with vcrpy."""
    handler = type("Handler", (_Completions,), {"send_timing": send_timing})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1/chat/completions"
        with vcr.use_cassette(str(folder / "llm" / "recorded.yaml"), record_mode="all"):
            status, _ = _post(url, {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
        assert status == 200
    finally:
        server.shutdown()
        server.server_close()
    return folder


@pytest.fixture
def recorded_cassettes(tmp_path: Path) -> Path:
    """A cassette recorded from a server that reports its processing time."""
    return _record(tmp_path / "cassettes", send_timing=True)


def test_replay_serves_the_recorded_answer_with_its_recorded_latency(
    recorded_cassettes: Path,
) -> None:
    replay = load_cassettes(recorded_cassettes)
    assert replay.cassettes == ["llm/recorded.yaml"]
    [recorded] = replay.interactions.values()
    assert recorded.latency == pytest.approx(0.007)
    with ReplayServer(replay) as server:
        # the same request with its keys in another order matches the recording
        status, body = _post(
            server.url + "/chat/completions",
            {"messages": [{"content": "hi", "role": "user"}], "model": "m"},
        )
        assert status == 200 and json.loads(body)["object"] == "chat.completion"
        other, _ = _post(server.url + "/chat/completions", {"model": "m", "messages": []})
        assert other == 404
        assert server.served == 1 and server.unmatched == ["/v1/chat/completions"]


def test_replay_without_latency_is_not_replayed(tmp_path: Path) -> None:
    folder = _record(tmp_path / "cassettes", send_timing=False)
    replay = load_cassettes(folder)
    assert not replay.interactions and replay.without_latency == 1
    result = replay_run(cassettes=folder)
    assert result["status"] == "skipped" and "carry no latency" in result["reason"]
    assert "runs" not in result
    # the recording run may write the latency it measured beside the cassette
    (folder / "llm" / "recorded.latency.json").write_text(
        json.dumps({"latency_seconds": [0.25]}), encoding="utf-8"
    )
    [recorded] = load_cassettes(folder).interactions.values()
    assert recorded.latency == 0.25


def test_replay_without_cassettes_reports_no_numbers(tmp_path: Path) -> None:
    result = replay_run(cassettes=tmp_path)
    assert result["status"] == "skipped"
    assert "no recorded LLM calls" in result["reason"]
    assert "runs" not in result


def test_message_copies_are_new_messages_to_the_store(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    copies = make_messages(tmp_path / "docs", 2)
    assert len(copies) == 2 * len(list(SAMPLE_INBOX.glob("*.eml")))
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        added = ingest_paths(copies, store)
        assert all(a.created for a in added)
    finally:
        store.close()


def test_compare_pairs_every_number_of_two_runs() -> None:
    old = {"meta": {"commit": "a"}, "benchmarks": {"t": {"runs": [{"dpm": 10.0}], "ok": True}}}
    new = {"meta": {"commit": "b"}, "benchmarks": {"t": {"runs": [{"dpm": 15.0}], "ok": True}}}
    assert compare(old, new) == [("t.runs.0.dpm", 10.0, 15.0, 1.5)]
