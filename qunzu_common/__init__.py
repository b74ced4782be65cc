"""Small pieces every program of the project shares, so that the gateway, the cloud bridge and
the simulators never need to import each other: the wire contract's schemas, and the way a
broken configuration file is reported."""
