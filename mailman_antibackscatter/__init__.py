"""mailman-antibackscatter: a Mailman 3 plugin that answers proven senders.

A regular package: Mailman finds the plugin's components with
importlib.resources, which cannot list a namespace package whose path
holds an editable install's hook.  The Postorius page's own distribution
(mailman-antibackscatter-web) adds mailman_antibackscatter/web/ and no
file of its own here, so without this distribution it is a namespace
package of one part.
"""
