"""``intake llm log``: what was asked of the LLM, what it answered, and what it cost."""

from __future__ import annotations

import json

import typer

from intake.cli.common import emit_json, settings, short, table
from intake.errors import InputError
from intake.store import LlmCall, Store

llm_app = typer.Typer(help="Inspect the LLM extraction path.", no_args_is_help=True)


def _call_json(call: LlmCall, full: bool) -> dict[str, object]:
    data: dict[str, object] = {
        "id": call.id,
        "at": call.at.isoformat(),
        "message_id": call.message_id,
        "purpose": call.purpose,
        "base_url": call.base_url,
        "model": call.model,
        "response_format": call.response_format,
        "prompt_versions": call.prompt_versions,
        "outcome": call.outcome,
        "status_code": call.status_code,
        "error": call.error,
        "prompt_tokens": call.prompt_tokens,
        "completion_tokens": call.completion_tokens,
        "latency_seconds": call.latency_seconds,
        "cost": call.cost,
    }
    if full:
        data["request"] = call.request
        data["response"] = call.response
    return data


def _content(call: LlmCall) -> str:
    """The answer's text from a raw chat-completion body, or the raw body."""
    if not call.response:
        return ""
    try:
        body = json.loads(call.response)
        return str(body["choices"][0]["message"].get("content") or "")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return call.response


@llm_app.command("log")
def log_cmd(
    message: str = typer.Option(None, "--message", "-m", help="Only calls for this message id."),
    limit: int = typer.Option(20, "--limit", "-n", help="How many calls, newest first."),
    full: bool = typer.Option(False, "--full", help="Show rendered prompts and raw responses."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Show logged LLM calls, newest first: outcome, tokens, latency, cost.

    Add --full for the rendered prompts and the raw answers.

    Example: intake llm log -m 01JQ3 --full
    """
    cfg = settings()
    store = Store.open(cfg.store.url)
    try:
        message_id = None
        if message is not None:
            message_id = store.find_message(message)
            if message_id is None:
                raise InputError(
                    f"no message with id {message!r} (or the prefix matches several): "
                    "see intake status or intake review list for ids"
                )
        calls = store.llm_calls(message_id, limit=limit)
    finally:
        store.close()
    if as_json:
        emit_json([_call_json(c, full) for c in calls])
        return
    if not calls:
        print("no LLM calls logged" + (f" for message {message_id}" if message_id else ""))
        return
    if full:
        for call in calls:
            print(
                f"=== call {call.id}  {call.at:%Y-%m-%d %H:%M:%S}  {call.purpose}  {call.outcome}"
            )
            print(f"message {call.message_id or '-'}  model {call.model}  {call.base_url}")
            versions = " ".join(f"{k}@{v}" for k, v in sorted(call.prompt_versions.items()))
            print(f"format {call.response_format}  prompts {versions}")
            print(
                f"tokens {call.prompt_tokens or 0}+{call.completion_tokens or 0}  "
                f"{call.latency_seconds:.2f} s  cost {_cost(call)}"
            )
            if call.error:
                print(f"error: {call.error}")
            for msg in call.request.get("messages", []):
                print(f"--- {msg.get('role')}")
                print(msg.get("content", ""))
            print("--- answer")
            print(_content(call))
            print()
        return
    rows = [
        [
            str(call.id),
            f"{call.at:%Y-%m-%d %H:%M:%S}",
            short(call.message_id, 26),
            call.purpose,
            short(call.model, 28),
            call.response_format,
            call.outcome,
            f"{call.prompt_tokens or 0}+{call.completion_tokens or 0}",
            f"{call.latency_seconds:.1f}s",
            _cost(call),
        ]
        for call in calls
    ]
    headers = ["id", "at (UTC)", "message", "purpose", "model", "format", "outcome", "tokens"]
    print(table([*headers, "time", "cost"], rows))


def _cost(call: LlmCall) -> str:
    return "-" if call.cost is None else f"{call.cost:.6f}"


def register(app: typer.Typer) -> None:
    """Add the ``llm`` command group to the app."""
    app.add_typer(llm_app, name="llm")
