"""The list owner's "Sender authentication" page for Postorius (a Django app).

Installed into a Postorius / mailman-web site with two steps (docs/install.md):
add ``'mailman_antibackscatter.web'`` to INSTALLED_APPS and include
``mailman_antibackscatter.web.urls`` next to Postorius' URLs.  It talks to the
plugin's REST resources in Mailman core; nothing here imports Mailman.
"""
