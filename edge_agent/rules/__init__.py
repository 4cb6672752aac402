"""Local rules: lighting programs, thresholds, alarms and the actions they call for."""
