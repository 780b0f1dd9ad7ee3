"""Does the configured endpoint answer a strict-schema request? Used by ``intake doctor``.

Listing models only proves the server is up; the probe asks for a tiny JSON object through the
same client, response-format fallback and validation the extractor uses, so "ok" means an
extraction request can be answered — and says which response format the endpoint took.
"""

from __future__ import annotations

from intake.config import LlmConfig
from intake.extract.llm.client import CallMeta, LlmClient, LlmFailure, Messages
from intake.extract.llm.contract import Probe, ReplyError, parse_reply, strict_schema

_PROMPT = 'Reply with a JSON object: "answer" is "ok" and "number" is 42.'


def probe_endpoint(config: LlmConfig) -> tuple[bool, str]:
    """Ask the endpoint for a :class:`Probe`; return whether it worked and a line for people."""
    client = LlmClient(config.model_copy(update={"max_retries": min(config.max_retries, 1)}))
    schema = strict_schema(Probe)

    def build(fmt: str) -> tuple[Messages, dict[str, str]]:
        content = _PROMPT
        if fmt == "json_object":
            content += f" Follow this JSON Schema: {schema}"
        return [{"role": "user", "content": content}], {}

    def check(content: str | None) -> list[str]:
        try:
            parse_reply(content, Probe)
        except ReplyError as exc:
            return exc.errors
        return []

    where = f"{client.base_url}: model {config.model}"
    try:
        reply = client.chat(build, schema, "probe", CallMeta("doctor"), check=check, max_tokens=64)
    except LlmFailure as exc:
        return False, exc.reason
    if reply.refusal:
        return False, f"{where} refused a strict-schema request: {reply.refusal}"
    if reply.finish_reason == "length" or reply.errors:
        why = "; ".join(reply.errors) or "the answer was cut off"
        return False, (
            f"{where} answered a strict-schema request with an invalid object ({why}): use a "
            "model that supports structured output, or set llm.response_format"
        )
    return True, f"{where} answers strict-schema requests ({reply.response_format})"
