"""Mailman-facing logic, as in mailman.app: what the plugin decides."""
