"""ROOT_URLCONF for a mailman-web site: mailman-web's URLs plus this page.

mailman-web keeps its urls.py inside its package, so a site adds the page
with ``ROOT_URLCONF = 'mailman_antibackscatter.web.mailman_web_urls'`` in
its settings.py instead of editing that file.  The page is mounted under
every prefix mailman-web mounts Postorius under (postorius/ and mailman3/
in 0.0.9), in the same order, so its links use the same prefix as
Postorius' own.
"""

from django.urls import URLResolver
from mailman_web.urls import urlpatterns as mailman_web_urlpatterns

OURS = 'mailman_antibackscatter.web.urls'


def _next_to_postorius(patterns):
    ours = []
    for pattern in patterns:
        urlconf = getattr(pattern, 'urlconf_name', None)
        if getattr(urlconf, '__name__', urlconf) == 'postorius.urls':
            ours.append(URLResolver(pattern.pattern, OURS))
    return ours


urlpatterns = (_next_to_postorius(mailman_web_urlpatterns)
               + list(mailman_web_urlpatterns))
