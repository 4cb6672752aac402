"""The agent's local control socket: a small line-delimited JSON protocol, its server and its client."""
