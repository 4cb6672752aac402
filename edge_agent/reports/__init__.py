"""Reports computed on the gateway from the local store: energy, waste, mobility, and the daily message."""
