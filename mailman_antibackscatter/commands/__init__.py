"""commands of the anti-backscatter plugin."""
