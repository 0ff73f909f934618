"""URLs of the test site, as a Postorius site's urls.py would have them."""

from django.urls import include, path

urlpatterns = [
    path('postorius/', include('postorius.urls')),
    # The one URL include a site adds (docs/install.md).
    path('postorius/', include('mailman_antibackscatter.web.urls')),
    path('accounts/', include('allauth.urls')),
    path('', include('django_mailman3.urls')),
]
