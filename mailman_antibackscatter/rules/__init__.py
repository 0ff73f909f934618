"""Rules: forged-member, and membership decided on the proven author."""
