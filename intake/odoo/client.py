"""The one client intake uses to talk to Odoo: JSON-RPC through odoorpc, one connection reused.

Why not odoorpc's own ``login``: it opens a web session (``/web/session/authenticate``), and
Odoo 17+ refuses API keys there (API keys are for RPC only). intake therefore uses odoorpc's
JSON-RPC transport for the ``/jsonrpc`` endpoint (services ``common`` and ``object``), where
an API key or a password both work, the same way on Odoo 16 to 19. The transport is built in
exactly one place (:meth:`OdooClient._build_transport`).

Failures are sorted once, here: transient ones (refused connection, timeout, 502/503/504,
database serialization conflicts) are retried a bounded number of times — but a call that
changes data is retried only when the request cannot have reached Odoo, so a create whose
answer was lost is never sent twice (the outbox finds it by its key instead); everything else
becomes an :mod:`intake.odoo.errors` exception whose message names the server, the model, the
operation and what to do.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import time
import urllib.error
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import odoorpc
import odoorpc.error

from intake.config import OdooConfig
from intake.odoo.errors import (
    OdooAccessError,
    OdooAuthError,
    OdooError,
    OdooRequestError,
    OdooUnavailable,
)
from intake.odoo.versions import OdooVersion

log = logging.getLogger(__name__)

READ_ONLY_METHODS = frozenset(
    {
        "search",
        "search_read",
        "search_count",
        "read",
        "read_group",
        "fields_get",
        "name_search",
        "has_access",
        "check_access_rights",
        "default_get",
    }
)
"""Methods that change nothing, so a timeout may be retried without risk of doing it twice."""

OPERATION_OF = {
    "create": "create",
    "write": "write",
    "unlink": "unlink",
    "message_post": "write",
    **dict.fromkeys(READ_ONLY_METHODS, "read"),
}
"""The access right an RPC method needs, for the message of an access error."""

TRANSIENT_HTTP = frozenset({502, 503, 504})
TRANSIENT_ODOO = ("SerializationFailure", "TransactionRollbackError", "LockNotAvailable")
RETRY_BACKOFF_SECONDS = 0.5


@dataclass(frozen=True)
class OdooUser:
    """Who intake is logged in as."""

    uid: int
    login: str
    name: str
    lang: str = "en_US"


class OdooClient:
    """A logged-in JSON-RPC connection to one Odoo database, reused for every call.

    Args:
        config: the ``[odoo]`` section; ``api_key`` holds an API key or the user's password.
    """

    def __init__(self, config: OdooConfig) -> None:
        if config.url is None or config.database is None or config.username is None:
            raise OdooAuthError("odoo.url, odoo.database and odoo.username must all be set")
        if config.api_key is None:
            raise OdooAuthError(
                "odoo.api_key is not set: set INTAKE_ODOO__API_KEY or odoo.api_key_file"
            )
        self.config = config
        self.url = config.url.rstrip("/")
        self.database = config.database
        self.username = config.username
        self._secret = config.api_key.get_secret_value()
        self._transport: Any = None
        self._version: OdooVersion | None = None
        self._uid: int | None = None
        self._user: OdooUser | None = None
        self.catalog_refreshed_at: float | None = None
        """monotonic time of the last catalog refresh through this connection"""

    # ------------------------------------------------------------------ connection

    def _build_transport(self) -> Any:
        """The one place the HTTP transport is made: odoorpc's JSON-RPC connector."""
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OdooAuthError(
                f"odoo.url {self.url!r} is not an http(s) URL: set it like http://odoo:8069"
            )
        if parts.path not in ("", "/"):
            raise OdooAuthError(
                f"odoo.url {self.url!r} has a path; odoorpc needs the server root "
                "(e.g. https://odoo.example.com)"
            )
        port = parts.port or (443 if parts.scheme == "https" else 80)
        protocol = "jsonrpc+ssl" if parts.scheme == "https" else "jsonrpc"
        return odoorpc.ODOO(
            parts.hostname, protocol=protocol, port=port, timeout=self.config.timeout_seconds
        )

    def connect(self) -> OdooClient:
        """Reach the server, read its version and log in; safe to call more than once."""
        if self._uid is not None:
            return self
        if self._transport is None:
            self._transport = self._with_retries(
                "connect", "", self._build_transport, may_repeat=True
            )
        info = self._call("common", "version", [], model="", method="version")
        version = OdooVersion.parse(str(info.get("server_version", "")))
        if not version.supported:
            log.warning(
                "Odoo %s at %s is not a version intake is tested with (16-19)",
                version.text,
                self.url,
            )
        if version.jsonrpc_deprecated:
            log.warning(
                "Odoo %s at %s deprecates /jsonrpc (removal planned for Odoo 20) and logs a "
                "warning per request; intake still uses it (docs/odoo.md)",
                version.text,
                self.url,
            )
        self._version = version
        uid = self._call(
            "common",
            "authenticate",
            [self.database, self.username, self._secret, {}],
            model="res.users",
            method="authenticate",
        )
        if not uid:
            raise OdooAuthError(
                f"Odoo {self.url} database {self.database!r} refused user {self.username!r}: "
                "check odoo.database, odoo.username and the API key (INTAKE_ODOO__API_KEY); "
                "an API key is made in Odoo under Preferences → Account Security"
            )
        self._uid = int(uid)
        return self

    @property
    def version(self) -> OdooVersion:
        """The server's version (connects first if needed)."""
        if self._version is None:
            self.connect()
        assert self._version is not None
        return self._version

    @property
    def uid(self) -> int:
        """The logged-in user's id (connects first if needed)."""
        if self._uid is None:
            self.connect()
        assert self._uid is not None
        return self._uid

    @property
    def origin(self) -> str:
        """Which Odoo database this is, for keeping cached data apart: ``url|database``."""
        return f"{self.url}|{self.database}"

    def user(self) -> OdooUser:
        """The logged-in user's login, name and language (read once per connection)."""
        if self._user is None:
            rows = self.execute("res.users", "read", [self.uid], fields=["login", "name", "lang"])
            row = rows[0] if rows else {}
            self._user = OdooUser(
                self.uid,
                str(row.get("login") or self.username),
                str(row.get("name") or self.username),
                str(row.get("lang") or "en_US"),
            )
        return self._user

    @property
    def context(self) -> dict[str, Any]:
        """The context for reads: the user's language, so names match what people write."""
        return {"lang": self.user().lang}

    # ------------------------------------------------------------------ calls

    def execute(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``model.method(*args, **kwargs)`` as the configured user and return the result.

        Raises:
            OdooUnavailable: Odoo could not be reached or timed out (after bounded retries).
            OdooAccessError: the user lacks the right; the message names model and operation.
            OdooRequestError: Odoo refused the call (validation error, missing record, …).
        """
        uid = self.uid
        return self._call(
            "object",
            "execute_kw",
            [self.database, uid, self._secret, model, method, list(args), kwargs],
            model=model,
            method=method,
        )

    def can(self, model: str, operation: str) -> bool:
        """Whether the user has the ``operation`` right (read, create, write, unlink)."""
        method, args, kwargs = self.version.access_check(operation)
        return bool(self.execute(model, method, *args, **kwargs))

    def _call(
        self, service: str, service_method: str, args: list[Any], *, model: str, method: str
    ) -> Any:
        params = {"service": service, "method": service_method, "args": args}
        may_repeat = service == "common" or method in READ_ONLY_METHODS
        data = self._with_retries(
            method, model, lambda: self._transport.json("/jsonrpc", params), may_repeat=may_repeat
        )
        return data.get("result")

    def _with_retries(self, method: str, model: str, send: Any, *, may_repeat: bool) -> Any:
        attempts = self.config.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return send()
            except odoorpc.error.RPCError as exc:
                error = self._classify_rpc_error(exc, model, method)
            except (OSError, http.client.HTTPException, json.JSONDecodeError) as exc:
                error = self._classify_transport_error(exc, model, method, may_repeat)
            except odoorpc.error.InternalError as exc:
                error = OdooUnavailable(f"Odoo {self.url}: {exc}: check odoo.url")
            retry = isinstance(error, _Retry)
            if retry and attempt < attempts:
                delay = RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1)
                log.warning(
                    "Odoo %s: %s.%s failed (%s); retry %d/%d in %.1fs",
                    self.url,
                    model or "-",
                    method,
                    error,
                    attempt,
                    attempts - 1,
                    delay,
                )
                time.sleep(delay)
                continue
            raise error.final if isinstance(error, _Retry) else error
        raise AssertionError("unreachable")  # pragma: no cover

    def _classify_transport_error(
        self, exc: Exception, model: str, method: str, may_repeat: bool
    ) -> OdooError | _Retry:
        what = f"{model}.{method}" if model else method
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(exc, urllib.error.HTTPError):
            final = OdooUnavailable(
                f"Odoo {self.url} answered HTTP {exc.code} to {what}: "
                + (
                    "the server is busy or restarting; intake tries again later"
                    if exc.code in TRANSIENT_HTTP
                    else "check odoo.url (it must be the Odoo server root)"
                )
            )
            return _Retry(final) if exc.code in TRANSIENT_HTTP and may_repeat else final
        refused = isinstance(reason, ConnectionRefusedError | socket.gaierror)
        final = OdooUnavailable(
            f"Odoo {self.url} is not reachable ({type(reason).__name__}: {reason}) during "
            f"{what}: check that Odoo runs and odoo.url; pending quotations are sent on the "
            "next run"
        )
        # A refused connection never reached Odoo, so even a create may be sent again.
        return _Retry(final) if may_repeat or refused else final

    def _classify_rpc_error(
        self, exc: odoorpc.error.RPCError, model: str, method: str
    ) -> OdooError | _Retry:
        info = exc.info if isinstance(exc.info, dict) else {}
        data = info.get("data") or {}
        name = str(data.get("name") or "")
        message = str(data.get("message") or exc)
        first_line = message.strip().splitlines()[0] if message.strip() else name
        if name.endswith("AccessError"):
            operation = OPERATION_OF.get(method, method)
            return OdooAccessError(
                f"Odoo user {self.username!r} may not {operation} {model} ({first_line}): give "
                f"the user that right in Odoo (Settings → Users; the Sales / User: Own "
                "Documents Only group covers quotations), or configure another odoo.username",
                model=model,
                operation=operation,
            )
        if name.endswith("AccessDenied"):
            return OdooAuthError(
                f"Odoo {self.url} database {self.database!r} refused user {self.username!r}: "
                "check odoo.username and the API key (INTAKE_ODOO__API_KEY)"
            )
        if any(marker in name for marker in TRANSIENT_ODOO):
            final = OdooUnavailable(f"Odoo {self.url}: {model}.{method} conflicted: {first_line}")
            return _Retry(final) if method in READ_ONLY_METHODS else final
        if "database" in first_line.lower() and "does not exist" in first_line.lower():
            return OdooAuthError(
                f"Odoo {self.url} has no database {self.database!r}: fix odoo.database"
            )
        return OdooRequestError(
            f"Odoo {self.url} refused {model}.{method}: {first_line}",
            model=model,
            method=method,
            odoo_error=name,
        )


@dataclass(frozen=True)
class _Retry:
    """A transient failure: retried while attempts remain, then ``final`` is raised."""

    final: OdooError

    def __str__(self) -> str:
        return str(self.final)
