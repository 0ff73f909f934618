"""Django app configuration: adds the page's link to Postorius' list menu."""

from django.apps import AppConfig


class SenderAuthenticationConfig(AppConfig):
    name = 'mailman_antibackscatter.web'
    label = 'antibackscatter_web'
    verbose_name = 'Sender authentication (mailman-antibackscatter)'
    default_auto_field = 'django.db.models.AutoField'

    def ready(self):
        from mailman_antibackscatter.web.patches import install_list_nav
        from mailman_antibackscatter.web.nav import with_list_menu_link
        install_list_nav(with_list_menu_link)
