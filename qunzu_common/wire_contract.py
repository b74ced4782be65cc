"""The JSON Schemas of the ``bldg/v1`` wire contract, loaded once, and checking against them.

The schemas live in ``config/schemas/`` of the repository; an installed wheel carries them as the
top-level ``wire_schemas`` directory. Running from a source checkout, the checkout's own files
are used, so an edited schema takes effect at once.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMA_NAMES = ("alert", "envelope-claims", "ack", "ack-claims", "status", "summary")


def schema_directory() -> Traversable:
    checkout = Path(__file__).resolve().parents[1] / "config" / "schemas"
    if checkout.is_dir():
        return checkout
    return resources.files("wire_schemas")


@cache
def validators() -> dict[str, Draft202012Validator]:
    directory = schema_directory()
    schemas = {
        name: json.loads(directory.joinpath(f"{name}.schema.json").read_text(encoding="utf-8"))
        for name in SCHEMA_NAMES
    }
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )
    return {
        name: Draft202012Validator(
            schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        for name, schema in schemas.items()
    }


def contract_errors(name: str, message: object) -> list[str]:
    """Every way ``message`` breaks schema ``name``, as ``path: reason`` (empty when valid)."""
    validator = validators()[name]
    errors = sorted(validator.iter_errors(message), key=lambda e: [str(p) for p in e.absolute_path])
    return [
        f"{'.'.join(str(part) for part in error.absolute_path) or '(root)'}: {error.message}"
        for error in errors
    ]
