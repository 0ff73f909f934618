"""URLs of the page; include them where Postorius' own URLs are included.

A site whose urls.py has ``path('postorius/', include('postorius.urls'))``
adds ``path('postorius/', include('mailman_antibackscatter.web.urls'))``;
the page then lives at postorius/lists/<list_id>/sender-authentication/.
"""

from django.urls import re_path

from mailman_antibackscatter.web import views

urlpatterns = [
    # Postorius' own list URLs use the same pattern for list_id.
    re_path(r'^lists/(?P<list_id>[^/]+)/sender-authentication/$',
            views.list_sender_authentication, name='antibackscatter_list'),
]
