"""The wire contract as the cloud bridge sees it: the JSON Schemas of ``bldg/v1``.

The schemas live in ``config/schemas/`` of the repository (an installed wheel carries them as
``wire_schemas``); ``qunzu_common.wire_contract`` loads them for the gateway and the bridge
alike, so neither side imports the other.
"""

from __future__ import annotations

from qunzu_common.wire_contract import contract_errors

__all__ = ["contract_errors"]
