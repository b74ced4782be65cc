"""How every program reports a broken configuration file: one line per problem, naming the
file, the field path and the rule (``gateway.toml: units[3].area_m2: Input should be greater
than 0``), never a traceback."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError


def read_toml(path: Path, error: type[Exception]) -> dict[str, Any]:
    """The TOML file at ``path`` as a dict; any reason it cannot be (missing, unreadable, not
    UTF-8, not TOML, nested too deep for the parser) is one ``error`` naming the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise error(f"{path}: file not found") from err
    except (OSError, UnicodeDecodeError) as err:
        raise error(f"{path}: cannot be read: {err}") from err
    except tomllib.TOMLDecodeError as err:
        raise error(f"{path.name}: not valid TOML: {err}") from err
    except RecursionError as err:  # tomllib recurses into nested arrays and inline tables
        raise error(f"{path.name}: not valid TOML: nested too deep") from err


def format_validation_error(source: str, err: ValidationError) -> str:
    """One line per problem: ``file: field.path[2].name: message``. Rules across fields carry
    their own path in their message, one problem a line."""
    lines = []
    for problem in err.errors():
        path = ""
        for part in problem["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = problem["msg"].removeprefix("Value error, ")
        if path:
            lines.append(f"{source}: {path}: {message}")
        else:
            lines.extend(f"{source}: {line}" for line in message.splitlines())
    return "\n".join(lines)
