"""Configuration: ``intake.toml`` plus ``INTAKE_…`` environment overrides, validated up front.

Admins edit one TOML file; operators override single keys from the environment
(``INTAKE_LLM__MODEL=…``, nested keys joined by ``__``). Unknown keys are errors, so a typo never
silently falls back to a default. Secrets (passwords, API keys) are accepted only from the
environment or from files named in the config, never as literals in the TOML file, and are held
as ``SecretStr`` so they print masked wherever the config is shown.
"""

from __future__ import annotations

import os
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from intake.errors import ConfigError

PACKAGE_ROOT = Path(__file__).resolve().parent
DEFAULT_PROMPT_DIR = PACKAGE_ROOT.parent / "prompts"
SECRET_KEYS = ("password", "api_key", "session_secret")


class Section(BaseModel):
    """Base of every config section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class SecretFromFile(Section):
    """Mixin logic for sections holding a secret: the value comes from env or ``*_file``."""

    def _read_secret_file(self, path: Path | None, key: str) -> SecretStr | None:
        if path is None:
            return None
        try:
            return SecretStr(path.expanduser().read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise ValueError(f"{key}_file {path} cannot be read: {exc.strerror}") from exc


class FolderSource(Section):
    """A drop folder: every .eml, .pdf, image or spreadsheet file put there is one message."""

    type: Literal["folder"] = "folder"
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    path: Path
    recursive: bool = False


class ImapSource(SecretFromFile):
    """An IMAP mailbox polled for new mail; docs/imap.md explains every key.

    New mail is fetched without marking it read, stored, and only then marked as configured by
    ``after``: a flag or keyword (``flag``), moved to ``move_to`` (``move``), or left as it is
    (``leave``, where only the last seen UID per folder keeps track). Authentication is a
    password read from ``password_file``, or an OAuth2 access token for XOAUTH2 read fresh on
    every login from ``oauth2_token_command`` or ``oauth2_token_file``.
    """

    type: Literal["imap"] = "imap"
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["tls", "starttls", "none"] = "tls"
    tls_ca_file: Path | None = Field(
        default=None, description="CA bundle for a server with a private or self-signed cert"
    )
    username: str
    password: SecretStr | None = None
    password_file: Path | None = None
    oauth2_token_command: list[str] | None = Field(
        default=None, description="argv of a program that prints an OAuth2 access token"
    )
    oauth2_token_file: Path | None = Field(
        default=None, description="file holding a current OAuth2 access token (re-read per login)"
    )
    folders: list[str] = Field(default_factory=lambda: ["INBOX"], min_length=1)
    after: Literal["flag", "move", "leave"] = "flag"
    processed_flag: str = Field(
        default="$IntakeProcessed",
        description="a keyword, or one of \\Seen \\Flagged \\Answered \\Draft",
    )
    move_to: str | None = None
    idle: bool = True
    idle_renew_seconds: int = Field(default=25 * 60, ge=1, lt=29 * 60)
    allowed_senders: list[str] = Field(
        default_factory=list, description="addresses or domains; empty means every sender"
    )
    trusted_authserv_ids: list[str] = Field(
        default_factory=list,
        description="authserv-ids of Authentication-Results headers to trust; empty: the topmost",
    )
    timeout_seconds: float = Field(default=60, gt=0)
    reconnect_max_seconds: float = Field(default=300, gt=0)
    quiet_warning_minutes: int = Field(default=24 * 60, ge=1)

    @field_validator("processed_flag")
    @classmethod
    def _flag_is_valid(cls, flag: str) -> str:
        if flag.startswith("\\"):
            if flag.lower() not in {"\\seen", "\\flagged", "\\answered", "\\draft"}:
                raise ValueError(
                    f"{flag} cannot mark processed mail: use a keyword such as "
                    "$IntakeProcessed, or \\Seen, \\Flagged, \\Answered or \\Draft"
                )
            return flag
        if not flag or any(c in flag for c in ' ()]{%*"\\') or not flag.isascii():
            raise ValueError(
                f"{flag!r} is not a valid IMAP keyword: use ASCII letters, digits, $ or _"
            )
        return flag

    @model_validator(mode="after")
    def _password_from_file(self) -> ImapSource:
        from_file = self._read_secret_file(self.password_file, "password")
        if from_file is not None:
            self.password = from_file
        oauth2 = self.oauth2_token_command is not None or self.oauth2_token_file is not None
        if self.oauth2_token_command is not None and self.oauth2_token_file is not None:
            raise ValueError("set oauth2_token_command or oauth2_token_file, not both")
        if oauth2 and self.password is not None:
            raise ValueError("set a password or an OAuth2 token source, not both")
        if not oauth2 and self.password is None:
            raise ValueError(
                "the mailbox needs a password (password_file) or an OAuth2 token "
                "(oauth2_token_command or oauth2_token_file)"
            )
        if self.oauth2_token_command == []:
            raise ValueError("oauth2_token_command is empty: give the program and its arguments")
        if self.after == "move":
            if not self.move_to:
                raise ValueError('after = "move" needs move_to, the folder processed mail goes to')
            if self.move_to in self.folders:
                raise ValueError(f"move_to {self.move_to!r} is one of the polled folders")
        elif self.move_to is not None:
            raise ValueError(f'move_to is only used with after = "move" (after is {self.after!r})')
        return self

    @property
    def uses_oauth2(self) -> bool:
        """True when the mailbox logs in with XOAUTH2 instead of a password."""
        return self.oauth2_token_command is not None or self.oauth2_token_file is not None

    @property
    def effective_port(self) -> int:
        """The configured port, else 993 for implicit TLS and 143 otherwise."""
        return self.port or (993 if self.security == "tls" else 143)


Source = Annotated[FolderSource | ImapSource, Field(discriminator="type")]


class StoreConfig(Section):
    """Where intake keeps messages, results and the audit log."""

    url: str = Field(
        default="sqlite:///intake-data/intake.db",
        description="SQLAlchemy URL; sqlite:///relative/path or postgresql+psycopg://…",
    )


class LlmPrice(Section):
    """What one model costs, in any currency you like, per million tokens."""

    input_per_million: Decimal = Field(ge=0)
    output_per_million: Decimal = Field(ge=0)


class LlmConfig(SecretFromFile):
    """An OpenAI-compatible endpoint; without base_url and api_key the offline extractor runs."""

    base_url: str | None = None
    model: str = "gpt-4o-mini"
    api_key: SecretStr | None = None
    api_key_file: Path | None = None
    timeout_seconds: float = Field(default=60, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    response_format: Literal["auto", "json_schema", "json_object_schema", "json_object"] = Field(
        default="auto",
        description="auto: try json_schema strict, then json_object with a schema "
        "(llama-cpp-python), then plain JSON mode, and remember what the endpoint takes",
    )
    max_tokens: int = Field(default=4096, ge=16, description="completion tokens per call")
    token_budget_per_message: int = Field(
        default=32000, ge=100, description="prompt + completion tokens of all calls per message"
    )
    temperature: float = Field(default=0.0, ge=0, le=2)
    logprobs: bool = Field(default=True, description="ask for token logprobs (a confidence signal)")
    classify_unsure: bool = Field(
        default=True, description="ask the LLM when the rule-based classifier is unsure"
    )
    prices: dict[str, LlmPrice] = Field(
        default_factory=dict, description="model name → price, for the cost in the call log"
    )

    @model_validator(mode="after")
    def _api_key_from_file(self) -> LlmConfig:
        from_file = self._read_secret_file(self.api_key_file, "api_key")
        if from_file is not None:
            self.api_key = from_file
        return self

    @property
    def enabled(self) -> bool:
        """True when an endpoint is configured; otherwise extraction runs offline."""
        return self.base_url is not None or self.api_key is not None


class OdooConfig(SecretFromFile):
    """The Odoo database drafts are created in; without url, drafts stay in the store."""

    url: str | None = None
    database: str | None = None
    username: str | None = None
    api_key: SecretStr | None = None
    api_key_file: Path | None = None
    timeout_seconds: float = Field(default=30, gt=0)
    max_retries: int = Field(
        default=2, ge=0, le=10, description="retries of a transient failure (reads, refusals)"
    )
    price_source: Literal["odoo", "customer"] = Field(
        default="odoo",
        description="which unit price a draft line keeps: Odoo's pricelist price or the "
        "customer's; a deviation between the two is a finding either way",
    )
    catalog_refresh_minutes: float = Field(
        default=10, gt=0, description="how often intake run refreshes the catalog cache"
    )
    history_days: int = Field(
        default=730,
        ge=1,
        description="how far back the customer's Odoo orders count for the anomaly checks "
        "(unusual quantities, duplicate PO numbers, first orders of a product)",
    )

    @model_validator(mode="after")
    def _check(self) -> OdooConfig:
        from_file = self._read_secret_file(self.api_key_file, "api_key")
        if from_file is not None:
            self.api_key = from_file
        if self.url is not None:
            missing = [k for k in ("database", "username") if getattr(self, k) is None]
            if self.api_key is None:
                missing.append("api_key (INTAKE_ODOO__API_KEY or api_key_file)")
            if missing:
                raise ValueError("odoo.url is set, so these are needed too: " + ", ".join(missing))
        return self

    @property
    def enabled(self) -> bool:
        """True when drafts are to be created in a real Odoo."""
        return self.url is not None


class CatalogConfig(Section):
    """The catalog file used for matching when no Odoo is configured."""

    path: Path = Field(default=PACKAGE_ROOT.parent / "fixtures" / "sample-catalog.json")


class FieldThresholds(Section):
    """Per-field minimum confidence; a value below it is a warning finding on that field."""

    customer: float = Field(default=0.6, ge=0, le=1)
    po_number: float = Field(default=0.6, ge=0, le=1)
    product: float = Field(default=0.75, ge=0, le=1)
    quantity: float = Field(default=0.6, ge=0, le=1)
    unit_price: float = Field(default=0.5, ge=0, le=1)
    delivery_date: float = Field(default=0.5, ge=0, le=1)


class Thresholds(Section):
    """When an order may become a draft without a person, and when it is rejected outright."""

    draft_min_confidence: float = Field(default=0.90, ge=0, le=1)  # chosen by intake eval
    reject_not_order_confidence: float = Field(default=0.90, ge=0, le=1)
    price_deviation_warn: Decimal = Field(default=Decimal("0.10"), ge=0)
    amount_tolerance: Decimal = Field(
        default=Decimal("0.01"),
        ge=0,
        description="absolute difference accepted when amounts are checked to add up",
    )
    amount_relative_tolerance: Decimal = Field(
        default=Decimal("0.005"),
        ge=0,
        lt=1,
        description="relative difference (of the larger amount) accepted for the same checks",
    )
    quantity_outlier_z: float = Field(
        default=3.5,
        gt=0,
        description="robust z-score (median/MAD of the customer's past quantities) above "
        "which a line's quantity is unusual",
    )
    quantity_outlier_ratio: Decimal = Field(
        default=Decimal(3),
        gt=1,
        description="an unusual quantity is also at least this many times the customer's "
        "median for the product, or at most its 1/ratio",
    )
    quantity_history_min: int = Field(
        default=3, ge=1, description="past orders of a product needed before its quantity is judged"
    )
    default_lead_time_days: int = Field(
        default=7,
        ge=0,
        description="days needed from order to delivery when the catalog gives the product "
        "no sale_delay",
    )
    fields: FieldThresholds = Field(default_factory=FieldThresholds)


class Limits(Section):
    """Hard limits enforced before heavy work, so hostile input cannot exhaust the machine."""

    max_message_bytes: int = Field(default=40 * 1024 * 1024, gt=0)
    max_attachment_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    max_pages: int = Field(default=50, gt=0)
    max_image_pixels: int = Field(default=60_000_000, gt=0)
    ocr_seconds_per_page: float = Field(default=60, gt=0)
    max_zip_depth: int = Field(
        default=2,
        ge=1,
        le=5,
        description="containers (zip, winmail.dat, files embedded in a PDF) opened inside "
        "each other, at most",
    )
    max_zip_members: int = Field(default=200, gt=0, description="files read from one archive")
    max_zip_ratio: float = Field(
        default=100,
        gt=1,
        description="uncompressed ÷ compressed size above which a large member is a zip bomb",
    )
    max_spreadsheet_cells: int = Field(
        default=200_000, gt=0, description="cells read from one spreadsheet (all sheets)"
    )


class OcrConfig(Section):
    """Tesseract settings."""

    languages: str = Field(default="eng", pattern=r"^[a-z_]+(\+[a-z_]+)*$")
    dpi: int = Field(default=300, ge=72, le=600)


class RunConfig(Section):
    """The continuous loop of ``intake run``."""

    poll_seconds: float = Field(default=60, gt=0)


class ReviewConfig(SecretFromFile):
    """The review web UI (``intake review serve``); docs/review.md explains every key.

    People log in with a name and password whose hash is listed under ``users`` (hashes are
    not secrets; ``intake review hash-password`` makes one), or a reverse proxy that has
    already authenticated them names them in ``proxy_user_header`` (``auth = "proxy"``, only
    believed from ``trusted_proxies``). The session cookie is signed with ``session_secret``
    (from INTAKE_REVIEW__SESSION_SECRET or ``session_secret_file``); without one, a random key
    is generated once and kept next to a SQLite store (``review-session.key``).
    """

    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=1, le=65535)
    auth: Literal["password", "proxy"] = "password"
    users: dict[str, str] = Field(
        default_factory=dict, description="user name → argon2 ($argon2id$…) or scrypt hash"
    )
    proxy_user_header: str = Field(default="X-Forwarded-User", min_length=1)
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="client addresses whose proxy_user_header is believed (auth = proxy)",
    )
    session_secret: SecretStr | None = None
    session_secret_file: Path | None = None
    secure_cookies: bool = Field(
        default=True, description="send the session cookie over HTTPS only (localhost is fine)"
    )
    session_minutes: int = Field(default=8 * 60, ge=1, le=30 * 24 * 60)
    login_max_failures: int = Field(
        default=5, ge=1, description="failed logins per user or address within the window"
    )
    login_window_seconds: int = Field(default=300, ge=1)
    root_path: str = Field(default="", description="URL prefix when served under a sub-path")

    @field_validator("users")
    @classmethod
    def _hashes_only(cls, users: dict[str, str]) -> dict[str, str]:
        for name, value in users.items():
            if not value.startswith(("$argon2", "$scrypt$")):
                raise ValueError(
                    f"review.users.{name} is not a password hash: store the output of "
                    "intake review hash-password ($argon2id$…), never the password itself"
                )
        return users

    @model_validator(mode="after")
    def _secret_from_file(self) -> ReviewConfig:
        from_file = self._read_secret_file(self.session_secret_file, "session_secret")
        if from_file is not None:
            self.session_secret = from_file
        return self


class Settings(BaseSettings):
    """The whole effective configuration."""

    model_config = SettingsConfigDict(
        env_prefix="INTAKE_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    sources: list[Source] = Field(default_factory=list)
    store: StoreConfig = Field(default_factory=StoreConfig)
    llm: LlmConfig = Field(default_factory=LlmConfig)
    odoo: OdooConfig = Field(default_factory=OdooConfig)
    catalog: CatalogConfig = Field(default_factory=CatalogConfig)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    limits: Limits = Field(default_factory=Limits)
    ocr: OcrConfig = Field(default_factory=OcrConfig)
    run: RunConfig = Field(default_factory=RunConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    prompt_dir: Path = Field(default=DEFAULT_PROMPT_DIR)

    @field_validator("sources")
    @classmethod
    def _unique_source_names(cls, sources: list[FolderSource | ImapSource]) -> list[Any]:
        names = [s.name for s in sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique; repeated: {', '.join(dupes)}")
        return sources

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first, then the TOML file (passed as init values)."""
        return (env_settings, init_settings)


def _secret_literals(data: dict[str, Any], prefix: str = "") -> list[str]:
    """Return the keys of secrets written as literals in the TOML file."""
    found: list[str] = []
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            found += _secret_literals(value, dotted + ".")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    found += _secret_literals(item, f"{dotted}[{i}].")
        elif key in SECRET_KEYS:
            found.append(dotted)
    return found


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    """Make relative paths in the TOML file relative to the file, not to the working dir."""
    for source in data.get("sources", []) or []:
        if isinstance(source, dict):
            for key in ("path", "password_file", "oauth2_token_file", "tls_ca_file"):
                if isinstance(source.get(key), str):
                    source[key] = str(base / Path(source[key]).expanduser())
    for section, key in (
        ("catalog", "path"),
        ("llm", "api_key_file"),
        ("odoo", "api_key_file"),
        ("review", "session_secret_file"),
    ):
        sect = data.get(section)
        if isinstance(sect, dict) and isinstance(sect.get(key), str):
            sect[key] = str(base / Path(sect[key]).expanduser())
    if isinstance(data.get("prompt_dir"), str):
        data["prompt_dir"] = str(base / Path(data["prompt_dir"]).expanduser())
    store = data.get("store")
    if isinstance(store, dict) and isinstance(store.get("url"), str):
        store["url"] = _absolute_sqlite_url(store["url"], base)


def _absolute_sqlite_url(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(base / url[len(prefix) :])
    return url


def format_validation_error(exc: ValidationError, origin: str) -> list[str]:
    """Turn pydantic's errors into one line each: the key, what is wrong, and the fix."""
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(
                f"{origin}: unknown key '{key}': remove it or fix its spelling "
                "(intake config show lists every valid key)"
            )
        elif err["type"] == "missing":
            lines.append(f"{origin}: '{key}' is required: add it")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{origin}: '{key}': {msg}")
    return lines


def config_problems(path: Path | None) -> tuple[Settings | None, list[str]]:
    """Load the config and return it with every problem found, each a full sentence.

    Used by ``intake config check``, which must report all problems at once rather than
    stopping at the first.
    """
    problems: list[str] = []
    data: dict[str, Any] = {}
    origin = str(path) if path else "defaults"
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None, [f"{path}: config file not found: create it or pass --config PATH"]
        except (OSError, tomllib.TOMLDecodeError) as exc:
            return None, [f"{path}: not valid TOML: {exc}"]
        for key in _secret_literals(data):
            env = "INTAKE_" + key.replace(".", "__").upper()
            where = (
                ""  # a list item (a mailbox) has no environment variable of its own
                if "[" in key
                else f"set {env} in the environment or "
            )
            problems.append(
                f"{path}: '{key}' holds a secret in the file: remove it and {where}"
                f"set '{key}_file' to a file holding it"
            )
            _drop_key(data, key)
        _resolve_paths(data, path.resolve().parent)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        env_keys = sorted(k for k in os.environ if k.startswith("INTAKE_"))
        origin_note = origin + (f" (+ env {', '.join(env_keys)})" if env_keys else "")
        return None, problems + format_validation_error(exc, origin_note)
    settings = _absolute_store_url(settings)
    return settings, problems


def _absolute_store_url(settings: Settings) -> Settings:
    url = _absolute_sqlite_url(settings.store.url, Path.cwd())
    if url != settings.store.url:
        settings.store = StoreConfig(url=url)
    return settings


def _drop_key(data: dict[str, Any], dotted: str) -> None:
    parts = dotted.replace("]", "").replace("[", ".").split(".")
    node: Any = data
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node.pop(parts[-1], None)


def load_settings(path: Path | None) -> Settings:
    """Load the effective config or raise ConfigError listing every problem."""
    settings, problems = config_problems(path)
    if problems or settings is None:
        raise ConfigError("configuration is invalid:\n  " + "\n  ".join(problems))
    return settings


def find_config_file(explicit: Path | None) -> Path | None:
    """The config file to use: --config, else $INTAKE_CONFIG, else ./intake.toml if present."""
    if explicit is not None:
        return explicit
    env = os.environ.get("INTAKE_CONFIG")
    if env:
        return Path(env)
    local = Path("intake.toml")
    return local if local.exists() else None


def masked_dump(settings: Settings) -> dict[str, Any]:
    """The effective config as plain data with every secret shown as '**********'."""
    data = settings.model_dump(mode="json", exclude={"sources"})
    data["sources"] = [s.model_dump(mode="json") for s in settings.sources]
    masked: dict[str, Any] = _mask(data)
    return masked


def _mask(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, key) for v in value]
    if key in SECRET_KEYS and value is not None:
        return "**********"
    if key == "url" and isinstance(value, str):
        return mask_url(value)
    return value


def mask_url(url: str) -> str:
    """Hide a password embedded in a URL such as postgresql://user:secret@host/db."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:**********@{host}" if ":" in creds else url
