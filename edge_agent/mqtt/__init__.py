"""The agent's own MQTT 3.1.1 / 5 wire format (``packets``); ``edge_agent.mqtt_client`` is the client that uses it."""
