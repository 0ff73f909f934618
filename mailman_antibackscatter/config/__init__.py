"""Site settings: the shipped defaults, the admin's file, process state."""
