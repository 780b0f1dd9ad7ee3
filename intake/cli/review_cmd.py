"""``intake review serve`` and ``intake review hash-password``: the review web UI.

The web stack (FastAPI, uvicorn, argon2) is imported inside the commands, so that importing
the CLI for any other command stays fast.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import typer

from intake.cli.common import settings
from intake.errors import ConfigError


def register(review_app: typer.Typer) -> None:
    """Add the web UI commands to ``intake review``."""

    @review_app.command("serve")
    def serve(
        host: str = typer.Option(None, "--host", help="Address to listen on (review.host)."),
        port: int = typer.Option(None, "--port", help="Port to listen on (review.port)."),
    ) -> None:
        """Start the review web UI: the queue, each item with its pages, approve and reject.

        People log in with the users in review.users (or through a reverse proxy with
        review.auth = "proxy"); see docs/review.md.

        Example: intake review serve --port 8765
        """
        import uvicorn

        from intake.review.app import create_app
        from intake.worker import open_context

        config = settings()
        review = config.review
        if review.auth == "password" and not review.users:
            raise ConfigError(
                "the review UI has no users: add [review.users] to intake.toml with "
                'name = "<hash>" (intake review hash-password makes the hash), or set '
                'review.auth = "proxy" behind an authenticating reverse proxy'
            )
        app = create_app(config, open_context(config))
        listen_host = host or review.host
        listen_port = port or review.port
        print(
            f"intake review: serving on http://{listen_host}:{listen_port}{review.root_path}/",
            file=sys.stderr,
        )
        uvicorn.run(
            app,
            host=listen_host,
            port=listen_port,
            proxy_headers=review.auth == "proxy",
            forwarded_allow_ips=",".join(review.trusted_proxies),
            log_level="warning",
        )

    @review_app.command("hash-password")
    def hash_password_cmd() -> None:
        """Print the hash of a password for review.users in intake.toml (asked twice).

        Reads the password from the terminal, or from the first line of stdin when piped.

        Example: intake review hash-password
        """
        from intake.review.security import hash_password

        if sys.stdin.isatty():
            first = getpass.getpass("Password: ")
            if getpass.getpass("Again: ") != first:
                raise ConfigError("the two passwords differ: run intake review hash-password again")
        else:
            first = sys.stdin.readline().rstrip("\n")
        if len(first) < 8:
            raise ConfigError("the password is shorter than 8 characters: choose a longer one")
        print(hash_password(first))

    @review_app.command("export-labels")
    def export_labels_cmd(
        folder: Path = typer.Argument(..., help="folder to write documents and labels into"),
    ) -> None:
        """Write every order approved in review as its message plus a label, for intake eval.

        The label is the order as the person approved it; running it again rewrites the same
        files and adds new approvals. Then: intake eval FOLDER.

        Example: intake review export-labels approved && intake eval approved
        """
        from intake.eval.export import export_labels
        from intake.worker import open_context

        config = settings()
        context = open_context(config)
        report = export_labels(context.store, folder, context.catalog)
        for reason in report.skipped:
            print(f"intake review: skipped {reason}", file=sys.stderr)
        print(
            f"intake review: {len(report.written)} approved order(s) written to {folder}; "
            f"score them with: intake eval {folder}",
            file=sys.stderr,
        )
