"""Outgoing delivery of the anti-backscatter plugin."""
