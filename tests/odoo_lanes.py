"""The two lanes the Odoo tests run in: recorded cassettes (CI) and a live Odoo by URL.

Cassette lane: vcrpy replays ``tests/cassettes/odoo/<test>.yaml`` with record mode "none", so
an unexpected request fails the test. The cassettes were recorded from a real Odoo 18 with demo
data (docs/odoo.md, "Recording the cassettes"); re-recording is explicit:
``INTAKE_RECORD=1`` plus the live variables below. Credentials never reach a cassette: the
JSON-RPC bodies carry the key or password in ``params.args[2]`` and in any ``password`` value,
and both are replaced by ``<SECRET>`` before a request is stored *and* before a replayed
request is matched, so replay needs no secret at all. Cookies are dropped from both sides.

Live lane: the same tests against a real server when ``INTAKE_TEST_ODOO_URL``,
``INTAKE_TEST_ODOO_DB``, ``INTAKE_TEST_ODOO_USER`` and ``INTAKE_TEST_ODOO_KEY`` are set
(marker ``live``); skipped otherwise.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import vcr
from vcr.request import Request

CASSETTES = Path(__file__).resolve().parent / "cassettes" / "odoo"
CONNECTION_FILE = CASSETTES / "connection.json"
SECRET = "<SECRET>"
REPLAY_KEY = "replay-needs-no-key"
SECRET_ARG_METHODS = {"execute_kw", "execute", "authenticate", "login"}
RECORDED_SERVER_VERSION = (18, "18.0")
"""What the Odoo the committed cassettes came from reports: (major, ``server_version``)."""
LIVE_VARS = (
    "INTAKE_TEST_ODOO_URL",
    "INTAKE_TEST_ODOO_DB",
    "INTAKE_TEST_ODOO_USER",
    "INTAKE_TEST_ODOO_KEY",
)


def live_configured() -> bool:
    """True when every live-lane variable is set."""
    return all(os.environ.get(v) for v in LIVE_VARS)


def recording() -> bool:
    """True when cassettes are to be (re-)recorded from the live server."""
    return os.environ.get("INTAKE_RECORD") == "1"


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (SECRET if k in ("password", "new_password") and v else _scrub(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def scrub_body(body: bytes | str | None) -> bytes | str | None:
    """A JSON-RPC body with every credential replaced by <SECRET> (other bodies unchanged)."""
    if not body:
        return body
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return body
    if not isinstance(data, dict):
        return body
    params = data.get("params")
    if isinstance(params, dict):
        args = params.get("args")
        if (
            params.get("service") in ("object", "common")
            and params.get("method") in SECRET_ARG_METHODS
            and isinstance(args, list)
            and len(args) > 2
        ):
            args[2] = SECRET
        data["params"] = _scrub(params)
    data.pop("id", None)  # odoorpc numbers requests at random
    out = json.dumps(data, sort_keys=True)
    return out.encode("utf-8") if isinstance(body, bytes) else out


def before_record_request(request: Request) -> Request:
    """Scrub credentials from the body and drop cookies and authorization headers."""
    request.body = scrub_body(request.body)
    for header in ("Cookie", "cookie", "Authorization", "authorization"):
        request.headers.pop(header, None)
    return request


def before_record_response(response: dict[str, Any]) -> dict[str, Any]:
    """Drop session cookies the server sets; scrub the live key should a body echo it."""
    headers = response.get("headers", {})
    for header in list(headers):
        if header.lower() in ("set-cookie", "authorization"):
            headers.pop(header)
    key = os.environ.get("INTAKE_TEST_ODOO_KEY")
    body = response.get("body", {}).get("string")
    if key and isinstance(body, bytes) and key.encode() in body:
        response["body"]["string"] = body.replace(key.encode(), SECRET.encode())
    return response


def jsonrpc_body(r1: Request, r2: Request) -> None:
    """vcrpy matcher: the scrubbed JSON bodies are equal (ids and secrets ignored)."""
    b1, b2 = scrub_body(r1.body), scrub_body(r2.body)
    if isinstance(b1, bytes):
        b1 = b1.decode("utf-8")
    if isinstance(b2, bytes):
        b2 = b2.decode("utf-8")
    assert b1 == b2, f"request body differs:\n{b1}\n{b2}"


def make_vcr(record_mode: str) -> vcr.VCR:
    """The project's vcrpy configuration for Odoo cassettes."""
    my_vcr = vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode=record_mode,
        match_on=("method", "scheme", "host", "port", "path", "jsonrpc_body"),
        before_record_request=before_record_request,
        before_record_response=before_record_response,
        decode_compressed_response=True,
        filter_headers=["cookie", "authorization", "set-cookie"],
    )
    my_vcr.register_matcher("jsonrpc_body", jsonrpc_body)
    return my_vcr


@dataclass(frozen=True)
class Lane:
    """Where one test talks to Odoo: url, database, user, key, and how requests are handled."""

    name: str
    url: str
    database: str
    username: str
    key: str

    @contextmanager
    def use(self, cassette: str) -> Iterator[None]:
        """Inside: requests go to the live server, or to/from the named cassette."""
        if self.name == "live":
            with nullcontext():
                yield
            return
        mode = "all" if recording() else "none"
        with make_vcr(mode).use_cassette(f"{cassette}.yaml", allow_playback_repeats=False):
            yield


def cassette_lane() -> Lane:
    """The cassette lane: records from the live server, or replays without any secret."""
    if recording():
        if not live_configured():
            raise RuntimeError("INTAKE_RECORD=1 needs " + ", ".join(LIVE_VARS))
        lane = live_lane()
        CASSETTES.mkdir(parents=True, exist_ok=True)
        CONNECTION_FILE.write_text(
            json.dumps(
                {"url": lane.url, "database": lane.database, "username": lane.username},
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        return Lane("cassette", lane.url, lane.database, lane.username, lane.key)
    conn = json.loads(CONNECTION_FILE.read_text(encoding="utf-8"))
    return Lane("cassette", conn["url"], conn["database"], conn["username"], REPLAY_KEY)


def live_lane() -> Lane:
    """The live lane, from INTAKE_TEST_ODOO_* variables."""
    env = os.environ
    return Lane(
        "live",
        env["INTAKE_TEST_ODOO_URL"],
        env["INTAKE_TEST_ODOO_DB"],
        env["INTAKE_TEST_ODOO_USER"],
        env["INTAKE_TEST_ODOO_KEY"],
    )


def server_version(lane: Lane) -> tuple[int, str]:
    """(major, ``server_version``) of the lane's Odoo, asked without intake's client.

    The cassette lane answers from the recording without a request (so the cassettes stay
    as recorded); the live lane asks the server's ``common.version`` with a bare JSON-RPC
    call, so a test can hold intake's reading of the version against Odoo's own
    ``server_version_info`` on whichever release (16-19) the live lane points at.
    """
    if lane.name != "live":
        return RECORDED_SERVER_VERSION
    body = {
        "jsonrpc": "2.0",
        "method": "call",
        "params": {"service": "common", "method": "version", "args": []},
        "id": 1,
    }
    request = urllib.request.Request(
        lane.url.rstrip("/") + "/jsonrpc",
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        result = json.load(response)["result"]
    return int(result["server_version_info"][0]), str(result["server_version"])
