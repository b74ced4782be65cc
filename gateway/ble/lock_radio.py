"""What the daemon (and ``gateway record``) call to listen to the configured locks.

Bluetooth libraries are imported only inside these functions, so a gateway without locks
never loads bleak, bumble or xiaomi-ble.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gateway.ble.credentials import CredentialPseudonymiser
from gateway.ble.transport import BleTransport
from gateway.config.gateway_file import GatewayConfig
from gateway.observations import StoredLockEvent
from simclock import SimClock


def configured_pseudonymiser(config: GatewayConfig) -> CredentialPseudonymiser | None:
    """The pseudonymiser of ``[ble] pseudonym_key_file`` (made on first use); ``None`` without
    locks. Call it at start, so a bad key file fails before anything runs."""
    if not config.locks:
        return None
    from gateway.ble.pseudonym_key import load_or_create_pseudonymiser

    return load_or_create_pseudonymiser(config.ble.pseudonym_key_file)


async def listen_to_locks(
    config: GatewayConfig,
    given: BleTransport | None,
    pseudonyms: CredentialPseudonymiser,
    clock: SimClock,
    keep: Callable[[list[StoredLockEvent]], Awaitable[None]],
    log_position: Callable[[str], Awaitable[int]],
) -> None:
    """Run the lock listener on ``given``, or on the stack ``[ble]`` names, until cancelled."""
    from gateway.ble.factory import open_ble_transport
    from gateway.ble.lock_listener import LockListener

    def listener(transport: BleTransport) -> LockListener:
        return LockListener(
            config.locks,
            transport,
            pseudonyms,
            clock,
            keep,
            log_position,
            silent_after_s=config.ble.silent_after_s,
            connect_timeout_s=config.ble.connect_timeout_s,
        )

    if given is not None:
        await listener(given).run()
        return
    async with open_ble_transport(config.ble) as transport:
        await listener(transport).run()
