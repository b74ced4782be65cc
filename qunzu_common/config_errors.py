"""How every program reports a broken configuration file: one line per problem, naming the
file, the field path and the rule (``gateway.toml: units[3].area_m2: Input should be greater
than 0``), never a traceback."""

from __future__ import annotations

from pydantic import ValidationError


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
