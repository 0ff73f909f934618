"""rules of the anti-backscatter plugin."""
