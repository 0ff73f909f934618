"""URLs of the Debian Postorius site: Postorius, the page, accounts."""

from django.urls import include, path

urlpatterns = [
    path('postorius/', include('postorius.urls')),
    # The one include a site adds (docs/install.md).
    path('postorius/', include('mailman_antibackscatter.web.urls')),
    path('accounts/', include('allauth.urls')),
    path('user-profile/', include('django_mailman3.urls')),
]
