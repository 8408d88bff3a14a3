from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "yiwang.accounts"
    label = "accounts"
    verbose_name = _("People and permissions")

    def ready(self):
        from django.db.models.signals import post_migrate

        post_migrate.connect(_install_default_roles)


def _install_default_roles(sender, using="default", **kwargs):
    """Default roles name permissions of every app, and each app's permissions are created by its own
    post_migrate; so install them after the last app's."""
    from django.apps import apps

    from yiwang.accounts.services import roles_ensure_defaults

    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if sender is with_models[-1]:
        roles_ensure_defaults()
