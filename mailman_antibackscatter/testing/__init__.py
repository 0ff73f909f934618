"""testing of the anti-backscatter plugin."""
