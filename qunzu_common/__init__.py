"""Small pieces every program of the project shares, so that the gateway, the cloud bridge and
the simulators never need to import each other: the wire contract's schemas, the way a broken
configuration file is reported, the supervisor of long-running tasks (``supervisor``) and the
MQTT session set-up of both daemons (``mqtt_session``)."""
