from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "yiwang.accounts"
    label = "accounts"
    verbose_name = _("People and permissions")

    def ready(self):
        from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

        post_migrate.connect(_install_default_roles)
        # Grants are kept per process (accounts.policies.grants_for); anything they are made of, changed by any
        # door (services, the admin, a data migration), gives them a new generation. Cache invalidation is the
        # one thing signals are used for here.
        for label in ("accounts.RoleAssignment", "accounts.Role", "geo.Region", "geo.Grid", "org.Unit"):
            post_save.connect(_grants_source_changed, sender=label, dispatch_uid=f"grants-save-{label}")
            post_delete.connect(_grants_source_changed, sender=label, dispatch_uid=f"grants-delete-{label}")
        from yiwang.accounts.models import Role

        m2m_changed.connect(_grants_source_changed, sender=Role.permissions.through, dispatch_uid="grants-m2m")


def _grants_source_changed(sender, raw=False, **kwargs):
    if raw:  # loading fixtures
        return
    from yiwang.accounts.policies import grants_changed

    grants_changed()


def _install_default_roles(sender, using="default", **kwargs):
    """Default roles name permissions of every app, and each app's permissions are created by its own
    post_migrate; so install them after the last app's."""
    from django.apps import apps

    from yiwang.accounts.services import roles_ensure_defaults

    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if sender is with_models[-1]:
        roles_ensure_defaults()
