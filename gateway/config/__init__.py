"""The gateway's TOML configuration: the file's model and one module per section family."""
