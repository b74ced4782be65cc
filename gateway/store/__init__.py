"""The gateway's SQLite store: one database object and one small module per table."""
