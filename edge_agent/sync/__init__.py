"""Upstream sync: the outbox leaves over MQTT QoS 1, in batches, and only a PUBACK removes it."""
