"""The plugin's tables in Mailman's database, and their migrations."""
