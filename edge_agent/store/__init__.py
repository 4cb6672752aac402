"""The local SQLite store: every record is committed here before anything else happens to it."""
