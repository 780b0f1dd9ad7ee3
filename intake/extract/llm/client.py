"""The one client of OpenAI-compatible endpoints: transport, retries, response formats, call log.

Every LLM request intake makes goes through :class:`LlmClient`. The openai package is used
with its own retries switched off (``max_retries=0``): retrying is decided here, so nothing is
retried silently on an answer that will never change. Transport errors, timeouts, 429 and 5xx
are retried a bounded number of times with exponential backoff, honouring ``Retry-After``;
authentication and not-found errors are reported at once with the config key that fixes them.

Endpoints differ in how they take a JSON Schema. With ``llm.response_format = "auto"`` the
client tries, in order, OpenAI's strict ``json_schema``; ``json_object`` with a ``schema``
(llama-cpp-python's server answers ``json_schema`` with HTTP 500 but enforces this form); and
plain JSON mode with the schema written into the prompt. The first form the endpoint accepts
is remembered for the process and, through the call log, across runs. Every HTTP attempt is
written to the call log with the rendered prompt, the raw response, tokens, latency and cost.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from intake.config import LlmConfig
from intake.store import LlmCall

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

FORMATS = ("json_schema", "json_object_schema", "json_object")
"""Response formats from most to least strict; ``auto`` tries them in this order."""

DEFAULT_BASE_URL = "https://api.openai.com/v1"
MAX_BACKOFF_SECONDS = 30.0
MAX_RETRY_AFTER_SECONDS = 120.0

_KNOWN: dict[tuple[str, str], tuple[str, bool]] = {}
"""Per process: (base_url, model) → (accepted response format, logprobs accepted)."""

Messages = list[dict[str, str]]
MessageBuilder = Callable[[str], tuple[Messages, dict[str, str]]]
"""Given a response format, the chat messages to send and the prompt versions they use."""


class LlmFailure(Exception):
    """No usable answer came from the endpoint; ``outcome`` says which kind of failure.

    ``unavailable``: not reachable, timed out, overloaded, or refused our credentials — the
    offline path takes over. ``rejected``: the endpoint answered every form of the request with
    an error that a retry will not change.
    """

    def __init__(self, outcome: str, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


@dataclass(frozen=True)
class Reply:
    """One answer of the endpoint, with what the caller needs to judge and log it."""

    content: str | None
    refusal: str | None
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    token_logprobs: tuple[tuple[str, float], ...] | None
    response_format: str
    model: str
    errors: tuple[str, ...] = ()
    """Problems the caller's check found in the content (empty when it is valid)."""


@dataclass(frozen=True)
class CallMeta:
    """What a call is for, for the call log."""

    purpose: str
    message_id: str | None = None


@dataclass
class _Attempt:
    """Bookkeeping of one HTTP attempt, turned into a call-log row."""

    response_format: str
    request: dict[str, Any]
    prompt_versions: dict[str, str]
    started: float = field(default_factory=time.perf_counter)


class _FormatRefused(Exception):
    """The endpoint answered this request form with an error; another form may work."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status = status
        self.body = body


class LlmClient:
    """Chat completions with a JSON Schema against one configured endpoint.

    Args:
        config: the ``[llm]`` section.
        call_log: where every HTTP attempt is recorded (the store's ``log_llm_call``).
        remembered: looks up the response format the endpoint accepted before (the store's
            ``llm_response_format``), so a restart does not probe again.
        sleep: how to wait between retries (``time.sleep``).
    """

    def __init__(
        self,
        config: LlmConfig,
        call_log: Callable[[LlmCall], object] | None = None,
        remembered: Callable[[str, str], str | None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.base_url = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.model = config.model
        self._call_log = call_log
        self._remembered = remembered
        self._sleep = sleep
        self._client = self._create_client()

    def _create_client(self) -> openai.OpenAI:
        """The one place the transport is built: our timeout, and no retries of its own."""
        key = self.config.api_key.get_secret_value() if self.config.api_key else "none"
        import openai  # imported on first use: it costs ~0.5 s at start-up

        return openai.OpenAI(
            base_url=self.base_url,
            api_key=key,
            timeout=self.config.timeout_seconds,
            max_retries=0,
        )

    # ------------------------------------------------------------------ formats

    def _ladder(self) -> tuple[list[str], bool]:
        """The response formats to try, and whether they are still being detected."""
        if self.config.response_format != "auto":
            return [self.config.response_format], False
        known = _KNOWN.get((self.base_url, self.model))
        if known is not None:
            return [known[0]], False
        if self._remembered is not None:
            try:
                fmt = self._remembered(self.base_url, self.model)
            except Exception:  # the store is only a hint here
                log.debug("no remembered response format", exc_info=True)
                fmt = None
            if fmt in FORMATS:
                assert fmt is not None
                _KNOWN[(self.base_url, self.model)] = (fmt, self.config.logprobs)
                return [fmt], False
        return list(FORMATS), True

    def _logprobs_first(self) -> bool:
        known = _KNOWN.get((self.base_url, self.model))
        return self.config.logprobs and (known is None or known[1])

    @staticmethod
    def response_format_param(fmt: str, schema: dict[str, Any], name: str) -> dict[str, Any]:
        """The ``response_format`` request value for one format."""
        if fmt == "json_schema":
            return {
                "type": "json_schema",
                "json_schema": {"name": name, "strict": True, "schema": schema},
            }
        if fmt == "json_object_schema":
            return {"type": "json_object", "schema": schema}
        return {"type": "json_object"}

    # ------------------------------------------------------------------ the call

    def chat(
        self,
        build: MessageBuilder,
        schema: dict[str, Any],
        schema_name: str,
        meta: CallMeta,
        check: Callable[[str | None], Sequence[str]] | None = None,
        max_tokens: int | None = None,
    ) -> Reply:
        """Ask for one JSON object that follows ``schema``; retry and fall back as needed.

        Args:
            build: the messages for a given response format (plain JSON mode needs the schema
                in the prompt) and the versions of the prompts used.
            schema: the strict JSON Schema of the answer.
            schema_name: a short name for the schema (``json_schema.name``).
            meta: purpose and message id, for the call log.
            check: validates the content; its problems are logged and returned in
                ``Reply.errors`` (the caller decides whether to re-ask).
            max_tokens: completion tokens for this call (default ``llm.max_tokens``).

        Returns:
            The endpoint's answer, which may still be truncated or a refusal.

        Raises:
            LlmFailure: no answer could be had (``unavailable``) or the endpoint refused every
                form of the request (``rejected``).
        """
        ladder, detecting = self._ladder()
        refusals: list[str] = []
        for fmt in ladder:
            options = [True, False] if self._logprobs_first() else [False]
            for with_logprobs in options:
                messages, versions = build(fmt)
                params: dict[str, Any] = {
                    "model": self.model,
                    "messages": messages,
                    "temperature": self.config.temperature,
                    "max_tokens": max_tokens or self.config.max_tokens,
                    "response_format": self.response_format_param(fmt, schema, schema_name),
                }
                if with_logprobs:
                    params["logprobs"] = True
                    params["top_logprobs"] = 1
                try:
                    reply = self._with_retries(params, fmt, versions, meta, check, detecting)
                except _FormatRefused as exc:
                    refusals.append(f"{fmt}{' +logprobs' if with_logprobs else ''}: {exc}")
                    continue
                _KNOWN[(self.base_url, self.model)] = (fmt, with_logprobs or not options[0])
                return reply
        _KNOWN.pop((self.base_url, self.model), None)
        raise LlmFailure(
            "rejected",
            f"{self.base_url} (model {self.model}) refused every form of the request: "
            + "; ".join(refusals)
            + " — set llm.response_format to a form the endpoint supports, or check llm.model",
        )

    def _with_retries(
        self,
        params: dict[str, Any],
        fmt: str,
        versions: dict[str, str],
        meta: CallMeta,
        check: Callable[[str | None], Sequence[str]] | None,
        detecting: bool,
    ) -> Reply:
        import openai

        attempts = self.config.max_retries + 1
        last = ""
        for attempt in range(attempts):
            state = _Attempt(fmt, _loggable(params), versions)
            wait: float | None = None
            try:
                raw = self._client.chat.completions.with_raw_response.create(**params)
            except openai.APITimeoutError:
                last = f"no answer within {self.config.timeout_seconds:g} s"
                self._log(state, meta, "timeout", error=last)
            except openai.APIConnectionError as exc:
                last = f"cannot connect ({_cause(exc)})"
                self._log(state, meta, "transport_error", error=last)
            except openai.APIStatusError as exc:
                status = exc.status_code
                body = _text(exc.response)
                self._log(state, meta, f"http_{status}", status=status, response=body)
                if status in (401, 403):
                    raise LlmFailure(
                        "unavailable",
                        f"{self.base_url} refused the credentials (HTTP {status}): set "
                        "INTAKE_LLM__API_KEY (or llm.api_key_file) to a valid key",
                    ) from exc
                if status == 404:
                    raise LlmFailure(
                        "unavailable",
                        f"{self.base_url} answered HTTP 404 for model {self.model}: check "
                        "llm.base_url (it usually ends in /v1) and llm.model",
                    ) from exc
                if status == 429 or status == 408:
                    wait = _retry_after(exc.response)
                    last = f"HTTP {status} (rate limited or busy)"
                elif status >= 500 and not detecting:
                    wait = _retry_after(exc.response)
                    last = f"HTTP {status}: {body[:200]}"
                else:
                    raise _FormatRefused(status, body) from exc
            else:
                return self._reply(raw, state, meta, check)
            if attempt + 1 >= attempts:
                break
            delay = min(MAX_BACKOFF_SECONDS, 2.0**attempt)
            if wait is not None:
                if wait > MAX_RETRY_AFTER_SECONDS:
                    last += f"; the endpoint asks to wait {wait:g} s"
                    break
                delay = max(delay, wait)
            log.info("llm: %s; retry %d of %d in %.1f s", last, attempt + 1, attempts - 1, delay)
            self._sleep(delay)
        raise LlmFailure(
            "unavailable",
            f"{self.base_url} (model {self.model}): {last} after {attempts} attempt(s); check "
            "that the endpoint runs (intake doctor), or raise llm.timeout_seconds / "
            "llm.max_retries",
        )

    def _reply(
        self,
        raw: Any,
        state: _Attempt,
        meta: CallMeta,
        check: Callable[[str | None], Sequence[str]] | None,
    ) -> Reply:
        body = _text(raw.http_response)
        completion = raw.parse()
        choice = completion.choices[0] if completion.choices else None
        usage = completion.usage
        prompt_tokens = int(usage.prompt_tokens) if usage else 0
        completion_tokens = int(usage.completion_tokens) if usage else 0
        content = choice.message.content if choice else None
        refusal = getattr(choice.message, "refusal", None) if choice else None
        finish = choice.finish_reason if choice else None
        logprobs = None
        if choice is not None and choice.logprobs is not None and choice.logprobs.content:
            logprobs = tuple((t.token, float(t.logprob)) for t in choice.logprobs.content)
        errors: tuple[str, ...] = ()
        if refusal or finish == "content_filter":
            outcome = "refused"
        elif finish == "length":
            outcome = "truncated"
        else:
            errors = tuple(check(content)) if check is not None else ()
            outcome = "invalid" if errors else "ok"
        self._log(
            state,
            meta,
            outcome,
            status=raw.http_response.status_code,
            response=body,
            tokens=(prompt_tokens, completion_tokens),
            error="; ".join(errors) or refusal or None,
        )
        return Reply(
            content=content,
            refusal=refusal
            or (
                "the endpoint's content filter stopped the answer"
                if finish == "content_filter"
                else None
            ),
            finish_reason=finish,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            token_logprobs=logprobs,
            response_format=state.response_format,
            model=completion.model or self.model,
            errors=errors,
        )

    # ------------------------------------------------------------------ the log

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """What a call cost by the configured price table, or None without a price."""
        price = self.config.prices.get(self.model)
        if price is None:
            return None
        million = Decimal(1_000_000)
        total = (
            Decimal(prompt_tokens) * price.input_per_million
            + Decimal(completion_tokens) * price.output_per_million
        ) / million
        return float(total)

    def _log(
        self,
        state: _Attempt,
        meta: CallMeta,
        outcome: str,
        *,
        status: int | None = None,
        response: str | None = None,
        tokens: tuple[int, int] | None = None,
        error: str | None = None,
    ) -> None:
        if self._call_log is None:
            return
        call = LlmCall(
            at=datetime.now(UTC),
            message_id=meta.message_id,
            purpose=meta.purpose,
            base_url=self.base_url,
            model=self.model,
            response_format=state.response_format,
            prompt_versions=state.prompt_versions,
            request=state.request,
            response=response,
            status_code=status,
            outcome=outcome,
            error=error,
            prompt_tokens=tokens[0] if tokens else None,
            completion_tokens=tokens[1] if tokens else None,
            latency_seconds=round(time.perf_counter() - state.started, 3),
            cost=self.cost(*tokens) if tokens else None,
        )
        try:
            self._call_log(call)
        except Exception:  # logging must never lose the answer itself
            log.exception("llm: could not write the call log")


def forget_formats() -> None:
    """Forget what endpoints accepted in this process (a test or a config reload)."""
    _KNOWN.clear()


def _loggable(params: dict[str, Any]) -> dict[str, Any]:
    """The request as JSON for the call log (no credentials are part of it)."""
    data: dict[str, Any] = json.loads(json.dumps(params, default=str))
    return data


def _text(response: Any) -> str:
    try:
        return str(response.text)
    except Exception:  # a streamed or closed body
        return ""


def _cause(exc: BaseException) -> str:
    inner = exc.__cause__ or exc.__context__
    return f"{type(inner).__name__}: {inner}" if inner else str(exc)


def _retry_after(response: Any) -> float | None:
    """Seconds the server asks us to wait (``Retry-After``, ``retry-after-ms``), if it says."""
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
        return max(0.0, seconds) if math.isfinite(seconds) else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
