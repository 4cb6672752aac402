"""Modbus TCP and RTU: profiles, read plans, polling and writes."""
