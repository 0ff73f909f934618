"""rest of the anti-backscatter plugin."""
