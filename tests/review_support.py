"""Shared set-up of the review UI tests: a real store with review items from real documents.

The store is filled by the real pipeline from the sample inbox (04, Ready Mat's HTML order
whose line 3, customer code RM-MAT-120, matches no product) and from the corpus PDF 17 (Ready
Mat's letter order, in review for its delivery date), plus messages the tests write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from intake.config import ReviewConfig, Settings, StoreConfig
from intake.pipeline import JobContext
from intake.review.security import hash_password
from intake.sources import ingest_paths
from intake.worker import open_context, process_pending

ROOT = Path(__file__).resolve().parents[1]
READY_MAT_EML = ROOT / "fixtures" / "sample-inbox" / "04-ready-mat-html-order.eml"
READY_MAT_PDF = ROOT / "fixtures" / "corpus" / "17-letter-ready-mat.pdf"
USER, PASSWORD = "alice", "correct horse battery staple"
FLOOR_PROTECTION = 37
"""'Chair floor protection' in the sample catalog: what a person picks for RM-MAT-120."""

_HASH = hash_password(PASSWORD)


@dataclass
class ReviewWorld:
    """Settings, job context and the ids of the messages in review."""

    settings: Settings
    ctx: JobContext
    ids: dict[str, str]


def make_settings(tmp_path: Path, **review: object) -> Settings:
    """Settings with a private SQLite store and one user, no Odoo (drafts kept in the store)."""
    return Settings(
        store=StoreConfig(url=f"sqlite:///{tmp_path / 'data' / 'intake.db'}"),
        review=ReviewConfig(users={USER: _HASH}, **review),  # type: ignore[arg-type]
    )


def process_files(ctx: JobContext, paths: list[Path]) -> dict[str, str]:
    """Run the real pipeline on files; returns message id by file name."""
    added = ingest_paths(paths, ctx.store)
    process_pending(ctx, only=[a.message_id for a in added])
    return {Path(ctx.store.summary(a.message_id).source_ref).name: a.message_id for a in added}


def build_world(tmp_path: Path, **review: object) -> ReviewWorld:
    """A store holding the Ready Mat email and PDF orders, both waiting for review."""
    settings = make_settings(tmp_path, **review)
    ctx = open_context(settings)
    ids = process_files(ctx, [READY_MAT_EML, READY_MAT_PDF])
    for name, message_id in ids.items():
        assert ctx.store.message_state(message_id).value == "in_review", name
    return ReviewWorld(settings, ctx, ids)


def write_email(
    folder: Path, name: str, sender: str, subject: str, body: str, message_id: str
) -> Path:
    """A plain-text email file, as a customer's mail client would send it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(
        (
            f"From: {sender}\r\nTo: orders@yourcompany.example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <{message_id}>\r\nDate: Tue, 25 Nov 2025 09:00:00 +0000\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body
        ).encode()
    )
    return path


def next_ready_mat_order(folder: Path) -> Path:
    """Ready Mat's next order: the same email, with a new PO number and Message-ID."""
    raw = READY_MAT_EML.read_bytes()
    raw = raw.replace(b"RM-2025-0318", b"RM-2025-0402")
    raw = re.sub(
        rb"Message-ID: <[^>]+>", b"Message-ID: <next-order-0402@readymat.example.com>", raw
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ready-mat-next-order.eml"
    path.write_bytes(raw)
    return path
