"""What can go wrong when intake talks to Odoo, one class per thing a person does about it.

All of them are :class:`~intake.errors.DependencyError` (exit code 5 at the CLI): Odoo is an
external service. The outbox keeps a quotation pending on :class:`OdooUnavailable` (try again
later, nothing is lost), stops on :class:`OdooAuthError` and :class:`OdooAccessError` (a person
must fix the configuration or the user's rights), and records :class:`OdooRequestError` on the
one quotation it concerns.
"""

from __future__ import annotations

from intake.errors import DependencyError


class OdooError(DependencyError):
    """Base of every Odoo error; the message names the server and what to do."""


class OdooUnavailable(OdooError):
    """Odoo cannot be reached, timed out or answered with a transient error; try again later."""


class OdooAuthError(OdooError):
    """The database, user name or API key is not accepted."""


class OdooAccessError(OdooError):
    """The configured user lacks a right: ``model`` and ``operation`` say which."""

    def __init__(self, message: str, model: str, operation: str) -> None:
        super().__init__(message)
        self.model = model
        self.operation = operation


class OdooRequestError(OdooError):
    """Odoo refused one request (validation, missing record, bad value); not transient."""

    def __init__(self, message: str, model: str, method: str, odoo_error: str) -> None:
        super().__init__(message)
        self.model = model
        self.method = method
        self.odoo_error = odoo_error
