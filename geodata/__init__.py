"""Geodata at the edges: reading and validating scenarios, sample scenarios, plan files, maps."""
