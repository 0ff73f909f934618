"""chains of the anti-backscatter plugin."""
