"""The store on SQLite and on a real PostgreSQL: migrations, exactly-once, append-only audit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from intake.models import Decision, DecisionKind, Message, MessageState
from intake.store import Store, content_hash
from intake.store.schema import Base


def make_message(raw: bytes, message_id: str | None = "<a@example.com>") -> Message:
    from intake.ids import new_id

    return Message(
        id=new_id(),
        source="test",
        source_ref="a.eml",
        kind="email",
        message_id=message_id,
        content_hash=content_hash(raw),
        sender="buyer@example.com",
        subject="PO 1",
        received_at=datetime.now(UTC),
        raw=raw,
    )


def test_migrated_schema_matches_the_models(store_url: str) -> None:
    store = Store.open(store_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    store.close()
    assert diff == []


def test_migrating_twice_changes_nothing_and_keeps_data(store_url: str) -> None:
    store = Store.open(store_url)
    added = store.add_message(make_message(b"Subject: x\r\n\r\nhello"))
    store.migrate()
    assert store.load_message(added.message_id).raw == b"Subject: x\r\n\r\nhello"
    store.close()


def test_same_input_is_stored_once(store_url: str) -> None:
    store = Store.open(store_url)
    first = store.add_message(make_message(b"raw-1"))
    again = store.add_message(make_message(b"raw-1"))
    same_id_other_bytes = store.add_message(make_message(b"raw-1 with another Received header"))
    other = store.add_message(make_message(b"raw-2", message_id="<b@example.com>"))
    assert first.created and not again.created and not same_id_other_bytes.created
    assert again.message_id == first.message_id == same_id_other_bytes.message_id
    assert other.created and other.message_id != first.message_id
    assert [e.action for e in store.audit_log()].count("received") == 2
    store.close()


def test_finish_records_a_decision_once(store_url: str) -> None:
    store = Store.open(store_url)
    added = store.add_message(make_message(b"raw-3"))
    decision = Decision(kind=DecisionKind.REVIEW, reasons=("needs a person",))
    assert store.finish(added.message_id, decision) is MessageState.IN_REVIEW
    again = Decision(kind=DecisionKind.REJECT, reasons=("second opinion",))
    assert store.finish(added.message_id, again) is MessageState.IN_REVIEW
    items = store.review_items()
    assert [(i.message_id, i.reasons) for i in items] == [(added.message_id, ["needs a person"])]
    assert [e.action for e in store.audit_log(added.message_id)].count("decided") == 1
    store.close()


def test_audit_log_is_append_only(store_url: str) -> None:
    store = Store.open(store_url)
    store.audit("config_changed", detail={"key": "thresholds.draft_min_confidence"}, actor="admin")
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))
    assert [(e.actor, e.action) for e in store.audit_log()] == [("admin", "config_changed")]
    store.close()


def test_claim_skips_a_message_leased_by_a_live_worker(store_url: str) -> None:
    store = Store.open(store_url)
    added = store.add_message(make_message(b"raw-4"))
    import os
    import socket

    live_other = f"{socket.gethostname()}:{os.getppid()}"
    assert store.claim_next(live_other) == added.message_id
    assert store.claim_next("me:1") is None
    dead_owner = f"{socket.gethostname()}:999999999"
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE messages SET lease_owner = :o"), {"o": dead_owner})
    assert store.claim_next("me:1") == added.message_id
    assert store.attempts(added.message_id) == 2
    store.close()


def test_unreachable_store_names_the_url_without_the_password() -> None:
    from intake.errors import StoreError

    with pytest.raises(StoreError) as info:
        Store.open("postgresql+psycopg://intake:s3cret-pw@127.0.0.1:1/none")
    assert "s3cret-pw" not in str(info.value)
    assert "store.url" in str(info.value)


def _alembic_config(conn):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    from intake.store import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = conn
    return cfg


def test_migrations_are_one_chain_and_upgrade_from_every_older_schema(store_url: str) -> None:
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    from intake.store import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(cfg)
    assert len(script.get_heads()) == 1, "migrations must form one chain: fix down_revision"
    chain = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    engine = create_engine(store_url)
    for older in chain:
        with engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "base")
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), older)
        store = Store.open(store_url)  # upgrades the rest of the way
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == [], older
        store.close()
    engine.dispose()
