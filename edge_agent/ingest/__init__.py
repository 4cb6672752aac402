"""Ingest: records from drivers and rules are group-committed to the store, then passed on."""
