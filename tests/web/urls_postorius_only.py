"""A site that added the app but forgot the URL include (test_nav)."""

from django.urls import include, path

urlpatterns = [
    path('postorius/', include('postorius.urls')),
    path('accounts/', include('allauth.urls')),
    path('', include('django_mailman3.urls')),
]
