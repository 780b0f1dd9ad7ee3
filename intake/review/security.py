"""Who may use the review UI, and the guards every request passes through.

Passwords are checked against argon2id hashes (argon2-cffi) or, for hashes made elsewhere,
``$scrypt$`` hashes from the standard library; failed logins are counted per user name and per
client address, and past ``login_max_failures`` within the window further tries are refused
before any hash is computed. CSRF: every session holds a random token that every form carries
and every POST must return. The session cookie is signed with a key that never appears in the
config file, the log or a page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import defaultdict, deque
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from intake.config import Settings
from intake.errors import ConfigError

_HASHER = PasswordHasher()
SESSION_KEY_FILE = "review-session.key"


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` for ``[review.users]`` in intake.toml."""
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches an argon2 or ``$scrypt$n=…,r=…,p=…$salt$hash`` hash."""
    if stored_hash.startswith("$argon2"):
        try:
            return _HASHER.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False
    if stored_hash.startswith("$scrypt$"):
        return _verify_scrypt(stored_hash, password)
    return False


def _verify_scrypt(stored_hash: str, password: str) -> bool:
    try:
        _, _, params, salt_b64, hash_b64 = stored_hash.split("$")
        values = dict(p.split("=", 1) for p in params.split(","))
        salt = base64.b64decode(salt_b64 + "=" * (-len(salt_b64) % 4))
        expected = base64.b64decode(hash_b64 + "=" * (-len(hash_b64) % 4))
        n, r, p = int(values["n"]), int(values["r"]), int(values["p"])
    except (ValueError, KeyError):
        return False
    actual = hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=len(expected)
    )
    return hmac.compare_digest(actual, expected)


# A fixed hash to verify against when the user name is unknown, so that an unknown name
# costs as much time as a wrong password and names cannot be probed by timing.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def check_login(users: dict[str, str], name: str, password: str) -> bool:
    """True when ``name`` is a configured user and ``password`` is theirs."""
    stored = users.get(name)
    if stored is None:
        verify_password(_DUMMY_HASH, password)
        return False
    return verify_password(stored, password)


class LoginLimiter:
    """Failed logins per key (user name, client address) in a sliding window."""

    def __init__(self, max_failures: int, window_seconds: float) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures[key]
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, keys: list[str]) -> int | None:
        """Seconds until another try is allowed for these keys, or None when allowed now."""
        now = time.monotonic()
        waits = []
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                if len(times) >= self.max_failures:
                    waits.append(times[0] + self.window - now)
        return max(1, int(max(waits)) + 1) if waits else None

    def failed(self, keys: list[str]) -> None:
        """Count one failed try against every key."""
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, keys: list[str]) -> None:
        """Forget the failures of these keys after a successful login."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


def new_csrf_token() -> str:
    """A fresh random token for one session's forms."""
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of the session's token and the one a form sent."""
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def session_secret(settings: Settings) -> str:
    """The key that signs session cookies.

    From ``review.session_secret`` (INTAKE_REVIEW__SESSION_SECRET or ``session_secret_file``);
    otherwise a random key generated once and kept, readable by this user only, next to a
    SQLite store (or in ./intake-data for another database), so sessions survive restarts.
    """
    configured = settings.review.session_secret
    if configured is not None:
        value = configured.get_secret_value()
        if len(value) < 32:
            raise ConfigError(
                "review.session_secret is shorter than 32 characters: use a long random value, "
                'e.g. python -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        return value
    path = _key_path(settings.store.url)
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ConfigError(
            f"cannot read the review session key {path}: {exc.strerror}; fix its permissions "
            "or set review.session_secret_file"
        ) from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another server made it first
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def _key_path(store_url: str) -> Path:
    prefix = "sqlite:///"
    if store_url.startswith(prefix) and store_url != prefix + ":memory:":
        return Path(store_url.removeprefix(prefix)).parent / SESSION_KEY_FILE
    return Path("intake-data") / SESSION_KEY_FILE
