"""Chains: Mailman's built-in chains with sender authentication added."""
