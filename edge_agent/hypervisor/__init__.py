"""The reference hypervisor ingest: MQTT shared subscriptions in, PostgreSQL out, sequence gaps repaired by replay."""
