"""Export the JSON Schema of the label format to ``schemas/label.v1.schema.json``.

Label writers (people labeling their own documents, tools converting other datasets) read the
checked-in schema; a test regenerates it and fails when it differs from the file, so the
schema never drifts from :class:`intake.eval.labels.Label`. Run
``python -m intake.eval.label_schema`` after changing the label models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from intake.eval.labels import LABEL_SCHEMA, Label

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


def schema_path() -> Path:
    """Where the label format's JSON Schema file lives."""
    return SCHEMA_DIR / "label.v1.schema.json"


def label_schema() -> dict[str, Any]:
    """The JSON Schema of a label file, with its id."""
    schema = Label.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://intake.invalid/schemas/{schema_path().name}",
        "version": LABEL_SCHEMA,
        **schema,
    }


def render_schema() -> str:
    """The schema file's exact text."""
    return json.dumps(label_schema(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    """Write the schema file (run after changing the models)."""
    path = schema_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_schema(), encoding="utf-8")
    print(path)


if __name__ == "__main__":
    main()
