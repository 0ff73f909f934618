"""mailman-antibackscatter: a GNU Mailman 3 plugin that answers only proven senders."""

__version__ = '0.1.0'
