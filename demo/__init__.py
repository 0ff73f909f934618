"""`make demo`: a real Mailman fed forged and authentic mail."""
