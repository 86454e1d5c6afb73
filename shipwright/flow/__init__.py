"""The deploy flow, written once against the Target interface:
preflight -> lock -> deploy -> verify -> watch -> prune -> notify -> record."""
