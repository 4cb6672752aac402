"""The demo site: the real agent on simulated devices, upstream to a local Mosquitto."""
