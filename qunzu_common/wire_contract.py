"""The JSON Schemas of the ``bldg/v1`` wire contract, loaded once, and checking against them.

The schemas live in ``config/schemas/`` of the repository; an installed wheel carries them as the
top-level ``wire_schemas`` directory. Running from a source checkout, the checkout's own files
are used, so an edited schema takes effect at once.

Checking is two-speed. ``jsonschema`` is the reference and gives the messages, but it walks the
schema for every message (about 1 ms for a signed alert, most of the bridge's verification).
A message is first checked by a validator compiled to Python by ``fastjsonschema`` from the same
schemas (references inlined, the draft-07 subset they use); only when that one finds a problem
does ``jsonschema`` run, so the answer and the messages are always the reference's. The fast
validator must never accept what the reference refuses: its formats are at least as strict
(``date`` and RFC 3339 ``date-time`` by pattern and by calendar), and a property test over
mutated messages checks the implication (tests/fuzz/test_wire_contract_fast_path.py).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import fastjsonschema
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


DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _is_date(value: str) -> bool:
    try:
        return DATE.fullmatch(value) is not None and bool(date.fromisoformat(value))
    except ValueError:
        return False


def _is_date_time(value: str) -> bool:
    try:
        return DATE_TIME.fullmatch(value) is not None and bool(
            datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
        )
    except ValueError:
        return False


def _inlined(schema: dict[str, Any], by_file: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``schema`` with every ``{"$ref": "<file>"}`` replaced by that file's schema, as draft-07."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"$ref"}:
                target = copy.deepcopy(by_file[node["$ref"]])
                target.pop("$schema", None)
                target.pop("$id", None)
                return walk(target)
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    out: dict[str, Any] = walk(copy.deepcopy(schema))
    out["$schema"] = "http://json-schema.org/draft-07/schema#"
    out.pop("$id", None)
    return out


@cache
def fast_validators() -> dict[str, Callable[[object], object]]:
    directory = schema_directory()
    by_file = {
        f"{name}.schema.json": json.loads(
            directory.joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
        )
        for name in SCHEMA_NAMES
    }
    formats = {"date": _is_date, "date-time": _is_date_time}
    return {
        name: fastjsonschema.compile(
            _inlined(by_file[f"{name}.schema.json"], by_file), formats=formats
        )
        for name in SCHEMA_NAMES
    }


def passes_fast_check(name: str, message: object) -> bool:
    """Whether the compiled validator accepts ``message`` (then the reference does too)."""
    try:
        fast_validators()[name](message)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def contract_errors(name: str, message: object) -> list[str]:
    """Every way ``message`` breaks schema ``name``, as ``path: reason`` (empty when valid)."""
    if passes_fast_check(name, message):
        return []
    validator = validators()[name]
    errors = sorted(validator.iter_errors(message), key=lambda e: [str(p) for p in e.absolute_path])
    return [
        f"{'.'.join(str(part) for part in error.absolute_path) or '(root)'}: {error.message}"
        for error in errors
    ]
