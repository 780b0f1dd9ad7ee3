"""Odoo: the client, the catalog cache, the quotation outbox and the order history.

Modules, one concern each: :mod:`~intake.odoo.client` (the JSON-RPC connection),
:mod:`~intake.odoo.versions` (every difference between Odoo 16 and 19),
:mod:`~intake.odoo.catalog` (the cached catalog matching runs on),
:mod:`~intake.odoo.quotation` and :mod:`~intake.odoo.payload` (what is sent, built purely),
:mod:`~intake.odoo.outbox` (sending it exactly once) and :mod:`~intake.odoo.history` (past
orders for the anomaly checks). This module holds the two steps the worker takes: open Odoo
with its catalog, and refresh that catalog when it is due.
"""

from __future__ import annotations

import logging
import time

from intake.catalog import Catalog
from intake.config import Settings
from intake.odoo.catalog import cached_catalog, sync_catalog
from intake.odoo.client import OdooClient
from intake.odoo.errors import OdooError, OdooUnavailable
from intake.store import Store

log = logging.getLogger(__name__)

__all__ = ["OdooClient", "open_odoo", "refresh_catalog"]


def open_odoo(settings: Settings, store: Store) -> tuple[OdooClient, Catalog]:
    """Connect, refresh the catalog cache and return the client with the catalog.

    When Odoo cannot be reached but a catalog was synced before, intake goes on with the
    cached one (quotations wait in the outbox); without any cache it cannot match, and says so.
    """
    client = OdooClient(settings.odoo)
    try:
        client.connect()
        sync_catalog(client, store)
        client.catalog_refreshed_at = time.monotonic()
    except OdooUnavailable as exc:
        catalog = cached_catalog(store, client.origin)
        if catalog is None:
            raise OdooUnavailable(
                f"{exc}; intake has no cached catalog of this Odoo yet, so it cannot match "
                "orders: start Odoo (or fix odoo.url) and run again"
            ) from exc
        log.warning("%s; matching with the catalog cached before", exc)
        return client, catalog
    catalog = cached_catalog(store, client.origin)
    assert catalog is not None  # a sync that returned has written every kind
    return client, catalog


def refresh_catalog(client: OdooClient, store: Store, settings: Settings) -> Catalog | None:
    """Refresh the cache when ``odoo.catalog_refresh_minutes`` have passed; the new catalog.

    Returns None when no refresh was due or Odoo could not be reached (the old one stays).
    """
    due = settings.odoo.catalog_refresh_minutes * 60
    last = client.catalog_refreshed_at
    if last is not None and time.monotonic() - last < due:
        return None
    try:
        sync_catalog(client, store)
    except OdooError as exc:
        log.warning("catalog refresh from Odoo failed, the cached catalog stays: %s", exc)
        return None
    client.catalog_refreshed_at = time.monotonic()
    return cached_catalog(store, client.origin)
