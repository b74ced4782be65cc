"""The wire contract as the gateway sees it: messages checked before they are signed, so a bug
can never put a malformed alert on the wire.

The JSON Schemas live in ``config/schemas/`` of the repository (an installed wheel carries them
as ``wire_schemas``); ``qunzu_common.wire_contract`` loads them for every program alike.
"""

from __future__ import annotations

from gateway.errors import ContractError
from qunzu_common.wire_contract import contract_errors

__all__ = ["contract_errors", "require_valid"]


def require_valid(name: str, message: object) -> None:
    problems = contract_errors(name, message)
    if problems:
        raise ContractError(f"{name} message breaks the wire contract: " + "; ".join(problems))
