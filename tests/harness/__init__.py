"""Servers the tests and the demo start on loopback: Mailman, DNS, SMTP."""
