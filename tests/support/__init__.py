"""Real peers for the tests: a Mosquitto broker per test, a capturing MQTT subscriber, free ports."""
