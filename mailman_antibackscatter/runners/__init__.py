"""runners of the anti-backscatter plugin."""
