"""handlers of the anti-backscatter plugin."""
