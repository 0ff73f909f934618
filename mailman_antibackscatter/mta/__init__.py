"""Outgoing delivery: Mailman's own, with signed return paths."""
