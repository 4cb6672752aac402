"""LoRaWAN through ChirpStack's MQTT integration: uplinks, codecs, downlinks."""
