"""The cloud bridge: the city's side of qunzu-watch.

It receives the signed alerts that building gateways publish over MQTT, verifies each one
(:mod:`~cloud_bridge.ingest.verification`), keeps one ticket per case and its whole history
(:mod:`~cloud_bridge.store.tickets_db`, lifecycle in :mod:`~cloud_bridge.ticket_states`), answers
every gateway on its ``ack`` topic (:mod:`~cloud_bridge.ingest.alert_ingest`) and serves dispatchers
and inspectors an HTTP API and a web UI (:mod:`~cloud_bridge.web.http_api`).
:mod:`~cloud_bridge.service` runs it all in one event loop; ``cloud-bridge``
(:mod:`~cloud_bridge.cli`) is the command. It never imports the gateway package: the two share only
the wire contract in JSON Schema.
"""
