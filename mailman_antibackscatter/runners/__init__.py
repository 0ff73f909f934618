"""Subclasses of Mailman's runners: the LMTP door, commands, bounce gate."""
