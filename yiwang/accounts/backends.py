from django.contrib.auth.backends import ModelBackend

from yiwang.accounts import policies


class RoleBackend(ModelBackend):
    """Answers Django's has_perm() from role assignments, so the admin and DRF see the same permissions as the
    services. Per-user and group permissions are not used."""

    def get_user_permissions(self, user_obj, obj=None):
        return set()

    def get_group_permissions(self, user_obj, obj=None):
        return set()

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return set(policies.grants_for(user_obj))

    def has_perm(self, user_obj, perm, obj=None):
        if not user_obj.is_active:
            return False
        if user_obj.is_superuser:
            return True
        if obj is None:
            return policies.can(user_obj, perm)
        action = perm
        queryset = type(obj)._default_manager.filter(pk=obj.pk)
        return policies.restrict(queryset, actor=user_obj, action=action).exists()

    def has_module_perms(self, user_obj, app_label):
        if not user_obj.is_active:
            return False
        if user_obj.is_superuser:
            return True
        return any(name.startswith(app_label + ".") for name in policies.grants_for(user_obj))
