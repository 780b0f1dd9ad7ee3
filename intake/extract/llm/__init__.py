"""The LLM extraction path: any OpenAI-compatible endpoint, strict schema, grounded answers.

``client`` talks to the endpoint (retries, response-format fallback, call log), ``contract``
says what the LLM returns, ``prompts`` renders the Jinja2 templates admins edit, ``locate``
finds every value's evidence in the documents, and ``extractor`` ties them together for one
message. :func:`llm_for_message` builds the extractor from the settings and the store, or
returns None when no endpoint is configured — then the offline extractor runs alone.
"""

from __future__ import annotations

from intake.config import Settings
from intake.extract.llm.client import LlmClient, LlmFailure
from intake.extract.llm.extractor import LlmExtractor, Outcome
from intake.extract.llm.prompts import PromptSet
from intake.store import Store

__all__ = ["LlmClient", "LlmExtractor", "LlmFailure", "Outcome", "PromptSet", "llm_for_message"]


def llm_for_message(
    settings: Settings, store: Store | None, message_id: str | None
) -> LlmExtractor | None:
    """The LLM path for one message, logging its calls in ``store``; None without an endpoint."""
    if not settings.llm.enabled:
        return None
    client = LlmClient(
        settings.llm,
        call_log=store.log_llm_call if store is not None else None,
        remembered=store.llm_response_format if store is not None else None,
    )
    return LlmExtractor(
        client,
        PromptSet(settings.prompt_dir),
        settings.llm,
        message_id,
        # orders people approved from the same sender in review (intake/review) are examples
        examples=store.approved_examples if store is not None else None,
    )
