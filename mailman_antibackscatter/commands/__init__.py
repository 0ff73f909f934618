"""The `mailman antibackscatter` command line."""
