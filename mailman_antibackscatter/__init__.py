"""mailman-antibackscatter: a Mailman 3 plugin that answers proven senders."""

__version__ = '0.1.0'
