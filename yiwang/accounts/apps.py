from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "yiwang.accounts"
    label = "accounts"
    verbose_name = _("People and permissions")

    def ready(self):
        from django.db.models.signals import post_migrate

        post_migrate.connect(_install_default_roles, sender=self)


def _install_default_roles(sender, using="default", **kwargs):
    from yiwang.accounts.services import roles_ensure_defaults

    roles_ensure_defaults()
