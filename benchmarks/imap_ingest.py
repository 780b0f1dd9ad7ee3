"""IMAP ingest throughput and peak memory against a real Dovecot, as ratios to a bare fetch.

A throwaway Dovecot (tests/dovecot.py, Debian's dovecot-imapd) gets a folder of 1,000 order
emails: most a few KB of text, one in five with a 40-200 KB attachment. Measured in the same
run, on the same folder:

- baseline: the least any IMAP reader does — imapclient logs in and fetches every message with
  one ``UID FETCH … BODY.PEEK[]`` into memory; nothing is stored, nothing is marked.
- intake: ``Mailbox.poll`` — header pre-pass, batched ``BODY.PEEK[]`` fetches, every message
  stored durably in a fresh SQLite store (WAL, synchronous=FULL, one commit per message), each
  batch flagged ``$IntakeProcessed`` after it is stored. No extraction.

Speed is the median of ``--rounds`` untraced rounds; peak memory comes from one more round of
each under tracemalloc. Flags are cleared between rounds so every round does the same work.

    .venv/bin/python benchmarks/imap_ingest.py [--messages 1000] [--rounds 3]

Prints JSON and writes it to benchmarks/results/imap_ingest.json. The numbers to watch are
``speed_ratio`` (intake's messages per second divided by the baseline's) and ``memory_ratio``.
"""

from __future__ import annotations

import argparse
import base64
import json
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from imapclient import IMAPClient  # noqa: E402

from intake.config import ImapSource  # noqa: E402
from intake.sources.imap import Mailbox  # noqa: E402
from intake.store import Store  # noqa: E402
from tests.dovecot import PASSWORD, DovecotServer, make_server  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "imap_ingest.json"


def make_messages(count: int, seed: int = 7) -> list[bytes]:
    """Order emails of realistic sizes, the same every run."""
    rng = random.Random(seed)
    messages = []
    for n in range(count):
        lines = "".join(
            f"{rng.randint(1, 40)} x FURN_{rng.randint(1000, 9999)} Office chair, black\r\n"
            for _ in range(rng.randint(2, 30))
        )
        head = (
            f"From: Buyer {n % 50} <buyer{n % 50}@customer{n % 7}.example>\r\n"
            "To: orders@yourcompany.example\r\n"
            f"Subject: Purchase order PO-{10000 + n}\r\n"
            f"Message-ID: <po-{n}-{seed}@customer{n % 7}.example>\r\n"
            "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
            "Authentication-Results: mx.yourcompany.example; spf=pass; dkim=pass; dmarc=pass\r\n"
        )
        body = f"Hello,\r\n\r\nplease deliver:\r\n{lines}\r\nRegards\r\n"
        if n % 5:
            messages.append((head + "\r\n" + body).encode())
            continue
        blob = rng.randbytes(rng.randint(30_000, 150_000))
        encoded = base64.encodebytes(blob).replace(b"\n", b"\r\n")
        messages.append(
            (
                head + 'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
                f"--b1\r\nContent-Type: text/plain\r\n\r\n{body}"
                "--b1\r\nContent-Type: application/pdf; name=order.pdf\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n"
            ).encode()
            + encoded
            + b"--b1--\r\n"
        )
    return messages


def baseline(server: DovecotServer) -> int:
    """Fetch every message with one bare FETCH into memory."""
    with IMAPClient("127.0.0.1", port=server.port, ssl=False, timeout=120) as client:
        client.login("orders", PASSWORD)
        client.select_folder("INBOX", readonly=True)
        data = client.fetch(client.search("ALL"), ["BODY.PEEK[]"])
        return len(data)


def intake_poll(server: DovecotServer, source: ImapSource) -> int:
    """intake's poll into a fresh store; returns the number of messages stored."""
    folder = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    try:
        store = Store.open(f"sqlite:///{folder / 'bench.db'}")
        mailbox = Mailbox(source)
        result = mailbox.poll(store)
        mailbox.close()
        store.close()
        if result.error:
            raise RuntimeError(result.error)
        return len(result.added)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def clear_flags(server: DovecotServer) -> None:
    with server.client() as client:
        client.select_folder("INBOX")
        client.remove_flags(client.search("ALL"), ["$IntakeProcessed"], silent=True)


def timed(work: Callable[[], int], expected: int) -> float:
    started = time.perf_counter()
    done = work()
    seconds = time.perf_counter() - started
    if done != expected:
        raise RuntimeError(f"expected {expected} messages, got {done}")
    return seconds


def traced_peak(work: Callable[[], int]) -> float:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    server = make_server()
    server.start()
    try:
        messages = make_messages(args.messages)
        folder_bytes = sum(len(m) for m in messages)
        server.append(messages)
        del messages
        password = server.base / "password"
        password.write_text(PASSWORD, encoding="utf-8")
        source = ImapSource(
            name="bench",
            host="127.0.0.1",
            port=server.port,
            security="none",
            username="orders",
            password_file=password,
            idle=False,
        )
        base_times, intake_times = [], []
        for _ in range(args.rounds):
            base_times.append(timed(lambda: baseline(server), args.messages))
            intake_times.append(timed(lambda: intake_poll(server, source), args.messages))
            clear_flags(server)
        base_peak = traced_peak(lambda: baseline(server))
        intake_peak = traced_peak(lambda: intake_poll(server, source))
        clear_flags(server)
    finally:
        server.kill()
        shutil.rmtree(server.base, ignore_errors=True)

    base_rate = args.messages / statistics.median(base_times)
    intake_rate = args.messages / statistics.median(intake_times)
    result = {
        "messages": args.messages,
        "folder_mib": round(folder_bytes / 2**20, 1),
        "rounds": args.rounds,
        "baseline_messages_per_second": round(base_rate, 1),
        "intake_messages_per_second": round(intake_rate, 1),
        "speed_ratio": round(intake_rate / base_rate, 3),
        "baseline_peak_mib": round(base_peak, 1),
        "intake_peak_mib": round(intake_peak, 1),
        "memory_ratio": round(intake_peak / base_peak, 3),
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
