"""Every difference between the Odoo versions intake supports (16, 17, 18, 19), in one place.

The rest of the Odoo code asks an :class:`OdooVersion` instead of comparing version numbers,
so supporting a new release means reading this module, not the whole package. Each property
names the release where the behaviour changed and why intake cares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SUPPORTED_MAJORS = (16, 17, 18, 19)


@dataclass(frozen=True)
class OdooVersion:
    """A server version as (major, minor): ``18.0`` → (18, 0), ``saas~18.2`` → (18, 2)."""

    major: int
    minor: int
    text: str

    @classmethod
    def parse(cls, text: str) -> OdooVersion:
        """Read the version Odoo reports (``server_version``); unknown text raises ValueError."""
        found = re.search(r"(\d+)\.(\d+)", text or "")
        if found is None:
            raise ValueError(f"cannot read an Odoo version from {text!r}")
        return cls(int(found.group(1)), int(found.group(2)), text)

    @property
    def supported(self) -> bool:
        """True for the releases intake is written and tested for."""
        return self.major in SUPPORTED_MAJORS

    def at_least(self, major: int, minor: int = 0) -> bool:
        """True when this server is ``major.minor`` or newer."""
        return (self.major, self.minor) >= (major, minor)

    # ----------------------------------------------------------------- field names

    @property
    def line_uom_field(self) -> str:
        """The unit field of ``sale.order.line``: ``product_uom`` until 18, then ``_id``."""
        return "product_uom_id" if self.at_least(19) else "product_uom"

    @property
    def user_groups_field(self) -> str:
        """The groups of ``res.users``: ``groups_id`` until 18, ``group_ids`` from 19."""
        return "group_ids" if self.at_least(19) else "groups_id"

    @property
    def packaging_model(self) -> str | None:
        """Where product packagings live: ``product.packaging`` until 18, none from 19.

        Odoo 19 folded packagings into units of measure, which intake reads as units only.
        """
        return None if self.at_least(19) else "product.packaging"

    @property
    def packaging_uom_field(self) -> str | None:
        """From 19, a product's packagings are units: ``uom_ids`` of the product (template).

        Each is a ``uom.uom`` ("Box of 12") whose ``factor`` (absolute, checked on 19.0) over
        the factor of the product's unit is the units it holds. A sale line then takes the
        packaging as its unit (``product_uom_id``) with the quantity in packages, and Odoo
        prices it per package. None before 19 (``product.packaging``, see above).
        """
        return "uom_ids" if self.at_least(19) else None

    @property
    def uom_fields(self) -> tuple[str, ...]:
        """What intake reads of ``uom.uom``: the name; from 19 also ``factor`` (packagings)."""
        return ("name", "factor") if self.packaging_uom_field else ("name",)

    @property
    def has_customer_product_reference(self) -> bool:
        """``customer.product.reference`` (partner, product, code) exists from 19.2 on."""
        return self.at_least(19, 2)

    # ----------------------------------------------------------------- endpoints

    @property
    def jsonrpc_deprecated(self) -> bool:
        """``/jsonrpc`` still works on 19 but is deprecated there, to be removed in 20.

        Odoo 19 logs a warning for every request to it (checked on 19.0: one per call) and
        points clients at the JSON-2 API (``/json/2/<model>/<method>``, bearer API key), which
        intake does not speak yet. The server's log can be quieted with
        ``--log-handler odoo.addons.rpc.controllers.jsonrpc:ERROR``.
        """
        return self.at_least(19)

    # ----------------------------------------------------------------- calls

    def access_check(self, operation: str) -> tuple[str, list[Any], dict[str, Any]]:
        """The call that asks whether the user may ``operation`` a model, without raising.

        18 added ``has_access`` on a recordset (an empty one checks the model) and deprecated
        ``check_access_rights``, which 16 and 17 offer with ``raise_exception=False``.
        """
        if self.at_least(18):
            return "has_access", [[], operation], {}
        return "check_access_rights", [operation], {"raise_exception": False}

    def message_post_kwargs(self) -> dict[str, Any]:
        """Extra ``message_post`` arguments so an HTML body sent over RPC is kept as HTML.

        From 17 a plain string body is escaped unless ``body_is_html`` is set; 16 keeps a
        string body as HTML.
        """
        return {"body_is_html": True} if self.at_least(17) else {}
