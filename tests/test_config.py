"""Config: TOML + environment, unknown keys rejected, secrets masked, every problem at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from intake.config import config_problems, load_settings
from intake.errors import EXIT_CODES, ConfigError
from tests.conftest import ROOT, run_intake


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "intake.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_need_no_file() -> None:
    settings = load_settings(None)
    assert settings.sources == []
    assert settings.store.url.startswith("sqlite:///")
    assert not settings.llm.enabled and not settings.odoo.enabled
    assert settings.catalog.path.is_file()


def test_every_problem_is_reported_at_once_with_its_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        colour = "blue"
        [thresholds]
        draft_min_confidence = 1.5
        [llm]
        api_key = "sk-live-123"
        [[sources]]
        type = "folder"
        name = "in box"
        path = "inbox"
        """,
    )
    settings, problems = config_problems(path)
    assert settings is None
    text = "\n".join(problems)
    assert "unknown key 'colour'" in text
    assert "thresholds.draft_min_confidence" in text
    assert "llm.api_key" in text and "INTAKE_LLM__API_KEY" in text
    assert "sources.0" in text
    assert "sk-live-123" not in text


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[llm]\nmodel = "from-file"\n[run]\npoll_seconds = 5\n')
    monkeypatch.setenv("INTAKE_LLM__MODEL", "from-env")
    settings = load_settings(path)
    assert settings.llm.model == "from-env"
    assert settings.run.poll_seconds == 5


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[store]\nurl = "sqlite:///data/x.db"\n'
        '[[sources]]\ntype = "folder"\nname = "orders"\npath = "drop"\n',
    )
    settings = load_settings(path)
    assert settings.store.url == f"sqlite:///{tmp_path}/data/x.db"
    assert settings.sources[0].path == tmp_path / "drop"


def test_secret_from_file_is_read_and_masked(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("odoo-key-987\n")
    path = write(
        tmp_path,
        '[odoo]\nurl = "http://127.0.0.1:8069"\ndatabase = "demo"\nusername = "admin"\n'
        'api_key_file = "key"\n',
    )
    settings = load_settings(path)
    assert settings.odoo.api_key is not None
    assert settings.odoo.api_key.get_secret_value() == "odoo-key-987"
    assert "odoo-key-987" not in repr(settings)


def test_invalid_config_raises_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[limits]\nmax_pages = 0\n")
    with pytest.raises(ConfigError, match="limits.max_pages"):
        load_settings(path)


def test_config_show_masks_secrets(tmp_path: Path, cli_env: dict[str, str]) -> None:
    cli_env["INTAKE_LLM__API_KEY"] = "sk-very-secret-42"
    cli_env["INTAKE_STORE__URL"] = "postgresql+psycopg://intake:pg-pass-77@127.0.0.1/intake"
    result = run_intake(["config", "show"], cli_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "sk-very-secret-42" not in result.stdout + result.stderr
    assert "pg-pass-77" not in result.stdout + result.stderr
    assert '"api_key": "**********"' in result.stdout


def test_config_check_lists_problems_and_exits_2(tmp_path: Path, cli_env: dict[str, str]) -> None:
    path = write(
        tmp_path,
        '[[sources]]\ntype = "folder"\nname = "orders"\npath = "missing-folder"\n'
        '[catalog]\npath = "nope.json"\n',
    )
    result = run_intake(["--config", str(path), "config", "check"], cli_env, cwd=tmp_path)
    assert result.returncode == 2
    assert "missing-folder" in result.stdout and "catalog.path" in result.stdout


def test_exit_code_table_in_docs_matches_the_code() -> None:
    doc = (ROOT / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (\d+) \| (.+?) \|$", doc, flags=re.M))
    assert {int(k): v for k, v in rows.items()} == EXIT_CODES


def test_checked_in_schema_matches_the_model() -> None:
    from intake.schemas import render, schema_path

    assert schema_path().read_text(encoding="utf-8") == render(), (
        "schemas/ is out of date: run python -m intake.schemas"
    )
