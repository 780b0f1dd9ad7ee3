"""Export the JSON Schema of ExtractedOrder to ``schemas/`` under a versioned file name.

The checked-in schema is what integrators and prompt authors read; a test regenerates it and
fails when it differs from the file, so the schema can never drift from the model silently.
Run ``python -m intake.schemas`` after changing the model (and bump SCHEMA_VERSION when the
change is not backwards compatible).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from intake.models import SCHEMA_VERSION, ExtractedOrder

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


def schema_path() -> Path:
    """Where the current version's schema file lives."""
    return SCHEMA_DIR / f"extracted-order.v{SCHEMA_VERSION}.schema.json"


def extracted_order_schema() -> dict[str, Any]:
    """The JSON Schema of ExtractedOrder with its id and version."""
    schema = ExtractedOrder.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://intake.invalid/schemas/{schema_path().name}",
        "version": SCHEMA_VERSION,
        **schema,
    }


def render() -> str:
    """The schema file's exact text."""
    return json.dumps(extracted_order_schema(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    """Write the schema file."""
    path = schema_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    print(path)


if __name__ == "__main__":
    main()
