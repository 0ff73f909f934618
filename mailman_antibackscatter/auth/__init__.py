"""Mailman-free sender authentication core: SPF, DKIM, ARC and alignment."""
