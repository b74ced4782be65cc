"""Write the small seed corpus of ``bench/fuzz/corpus/`` (run again after a contract change).

python bench/fuzz/make_seeds.py
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from targets import GATEWAY_ID, NOW, TOPIC, fuzz_signing_key  # type: ignore[import-not-found]

from gateway.wire.signer import EnvelopeSigner, Sequence

CORPUS = Path(__file__).resolve().parent / "corpus"


def alert_body() -> dict[str, object]:
    return {
        "schema": "bldg.alert/v1",
        "alert_id": f"{GATEWAY_ID}.0302.overcrowding.20260302",
        "revision": 0,
        "gateway_id": GATEWAY_ID,
        "unit_id": "0302",
        "kind": "overcrowding",
        "raised_at": "2026-03-04T00:10:00+08:00",
        "window": {"from": "2026-03-02", "to": "2026-03-03"},
        "legal_cap": 2,
        "estimated_occupancy": {"point": 9.1, "low": 7.1, "high": 11.1},
        "confidence": 0.97,
        "unit": {"floor": 3, "area_m2": 44.0, "rooms": 1},
        "evidence": {
            "summary": "Water for about 9 people in a flat with a legal cap of 2.",
            "signals": ["water", "electricity"],
            "days": [
                {"date": "2026-03-02", "water_m3": 1.1, "electricity_kwh": 15.0, "estimate": 9.0}
            ],
        },
    }


def main() -> None:
    signer = EnvelopeSigner(GATEWAY_ID, fuzz_signing_key())
    token = signer.sign_alert(TOPIC, NOW, Sequence(1, 1), alert_body()).encode()
    ack = {"alert_id": "a", "seq": {"boot_epoch": 1, "counter": 1}, "status": "accepted"}
    seeds = {
        "alert": {"valid": token, "two-segments": token.rsplit(b".", 1)[0]},
        "ack": {
            "accepted": json.dumps({**ack, "ticket_id": 1}).encode(),
            "rejected": json.dumps({**ack, "status": "rejected", "reason": "x"}).encode(),
        },
        "bounded_json": {"object": b'{"a": [1, 2.5, "x", null, true]}', "deep": b"[[[[]]]]"},
        "lock_adverts": {
            "bthome-lock": bytes([0x40, 0x00, 0x07, 0x1F, 0x01]),
            "log-record": struct.pack("<BBBBIII", 1, 0, 1, 0, 7, NOW, 0x12345678),
            "mibeacon-header": bytes.fromhex("5858010b07"),
        },
    }
    for target, files in seeds.items():
        directory = CORPUS / target
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (directory / name).write_bytes(data)


if __name__ == "__main__":
    main()
