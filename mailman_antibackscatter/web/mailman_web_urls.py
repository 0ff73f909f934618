"""ROOT_URLCONF for a mailman-web site: mailman-web's URLs plus this page.

mailman-web keeps its urls.py inside its package, so a site adds the page
with ``ROOT_URLCONF = 'mailman_antibackscatter.web.mailman_web_urls'`` in
its settings.py instead of editing that file.
"""

from django.urls import include, path
from mailman_web.urls import urlpatterns as mailman_web_urlpatterns

urlpatterns = [
    # mailman-web mounts Postorius at postorius/ (and mailman3/).
    path('postorius/', include('mailman_antibackscatter.web.urls')),
] + list(mailman_web_urlpatterns)
