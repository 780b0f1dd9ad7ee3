"""Prompt templates: Jinja2 files in ``prompt_dir`` that admins edit without touching code.

Templates are rendered in a :class:`~jinja2.sandbox.SandboxedEnvironment` with
``StrictUndefined``: a template cannot reach into Python objects, and a misspelt variable is an
error rather than an empty string that silently changes the prompt. Each template starts with a
``{# version: N #}`` comment; the version is recorded with every call and every extraction, so a
change in results can be traced to the prompt that caused it. Document text is passed in as a
variable and placed between markers carrying a tag derived from the text's own hash, so a
document cannot close its own delimiter.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from intake.errors import ConfigError
from intake.models import ParsedMessage

TEMPLATES = ("system", "extract", "classify", "reask")
"""The templates the LLM path uses; ``intake config check`` renders each with a sample."""

_VERSION = re.compile(r"\A\s*\{#-?\s*version:\s*([\w.-]+)\s*-?#\}[ \t]*\n?")


@dataclass(frozen=True)
class Rendered:
    """A rendered prompt with the template's name and version."""

    name: str
    version: str
    text: str


class PromptSet:
    """The templates of one prompt folder, loaded once and rendered on demand."""

    def __init__(self, prompt_dir: Path) -> None:
        self.prompt_dir = prompt_dir
        self.env = SandboxedEnvironment(
            loader=FileSystemLoader(str(prompt_dir)),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    def version(self, name: str) -> str:
        """The version written in the first line of ``name``.j2."""
        path = self.prompt_dir / f"{name}.j2"
        try:
            head = path.read_text(encoding="utf-8")[:200]
        except OSError as exc:
            raise ConfigError(
                f"prompt template {path} cannot be read ({exc.strerror}): restore it from the "
                "intake repository's prompts/ folder or fix prompt_dir"
            ) from exc
        m = _VERSION.match(head)
        if m is None:
            raise ConfigError(
                f"prompt template {path} has no version: make its first line "
                "'{# version: 1 #}' and raise the number whenever you change the text"
            )
        return m.group(1)

    def render(self, name: str, **context: Any) -> Rendered:
        """Render ``name``.j2 with ``context``; errors name the template and the fix."""
        version = self.version(name)
        try:
            text = self.env.get_template(f"{name}.j2").render(**context)
        except TemplateError as exc:
            raise ConfigError(
                f"prompt template {self.prompt_dir / (name + '.j2')} does not render: "
                f"{type(exc).__name__}: {exc}; fix the template (variables: "
                f"{', '.join(sorted(context))})"
            ) from exc
        return Rendered(name, version, text.strip() + "\n")

    def problems(self) -> list[str]:
        """Render every template with a sample context; one line per template that fails."""
        problems = []
        sample = sample_context()
        for name in TEMPLATES:
            try:
                self.render(name, **sample)
            except ConfigError as exc:
                problems.append(f"prompt_dir: {exc}")
        return problems


def boundary_for(parsed: ParsedMessage) -> str:
    """The delimiter tag for a message's documents: derived from their text, so unguessable.

    A document would have to contain the hash of its own text to forge the closing marker.
    The tag is deterministic, so the same message gives the same prompt (and recorded test
    cassettes match).
    """
    digest = hashlib.sha256()
    for doc in parsed.documents:
        digest.update(doc.text.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def documents_context(parsed: ParsedMessage) -> list[dict[str, str]]:
    """The documents as the templates see them: id, origin, media type and text."""
    return [
        {
            "id": doc.id,
            "origin": doc.origin.describe(),
            "media_type": doc.media_type,
            "text": doc.text.replace("\f", "\n"),
        }
        for doc in parsed.documents
    ]


def sample_context() -> dict[str, Any]:
    """A context with every variable any template uses, for ``intake config check``."""
    return {
        "schema_json": '{"type": "object"}',
        "documents": [
            {"id": "d1", "origin": "email body", "media_type": "text/plain", "text": "2 x A-1"}
        ],
        "boundary": "0123456789abcdef",
        "message": {"sender": "buyer@example.com", "subject": "Order"},
        "hints": ["sample hint"],
        "examples": [{"document": "2 x A-1", "answer": "{}"}],
        "rules": {"label": "unsure", "reasons": ["sample reason"]},
        "errors": ["sample error"],
    }
