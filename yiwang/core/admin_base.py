"""Admin pages are doors like any other: lists go through the actor's scope, saves through services."""

from django.contrib import admin
from django.db import transaction

from yiwang.accounts.policies import perm_name, restrict
from yiwang.core.errors import DomainError


class ServiceRefusalMixin:
    """A service's refusal (DomainError) rolls the whole save back and shows the same form again, with what
    was typed and the reason, instead of an error page."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            with transaction.atomic():
                return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            # Nothing was written. Show the same form again, with what was typed and the service's reason.
            request._yiwang_domain_error = exc
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        error = getattr(request, "_yiwang_domain_error", None)
        if error is None:
            return form_class

        class RefusedForm(form_class):
            def clean(self):
                data = super().clean()
                for field, messages_ in error.fields.items():
                    if field in self.fields:
                        self.add_error(field, [str(m) for m in messages_])
                self.add_error(None, f"{error.message} [{error.code}]")
                return data

        return RefusedForm


class ScopedAdmin(ServiceRefusalMixin, admin.ModelAdmin):
    """Subclasses implement `create(request, obj, form)` and `update(request, obj, form, changes)` (and
    `remove(request, obj)`) by calling services."""

    list_per_page = 50

    def get_queryset(self, request):
        return restrict(super().get_queryset(request), actor=request.user, action="view")

    def _in_scope(self, request, obj, action):
        if obj is None:
            return request.user.has_perm(perm_name(self.model, action))
        return restrict(self.model._default_manager.filter(pk=obj.pk), actor=request.user, action=action).exists()

    def has_view_permission(self, request, obj=None):
        return self._in_scope(request, obj, "view") or self._in_scope(request, obj, "change")

    def has_change_permission(self, request, obj=None):
        return self._in_scope(request, obj, "change")

    def has_delete_permission(self, request, obj=None):
        return self._in_scope(request, obj, "delete")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = restrict(field.queryset, actor=request.user, action="view")
        return field

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deletes go one by one through the service
        return actions

    def save_model(self, request, obj, form, change):
        if change:
            # The service applies just the changed fields to the stored row, under its own lock and checks.
            model_fields = {f.name for f in self.model._meta.get_fields()}
            changes = {name: getattr(obj, name) for name in form.changed_data if name in model_fields}
            saved = self.update(request, self.model._default_manager.get(pk=obj.pk), form, changes)
        else:
            saved = self.create(request, obj, form)
        # The admin goes on with `obj` (messages, redirects): give it what the service stored.
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})

    def save_related(self, request, form, formsets, change):
        # Related objects (m2m, inlines) are written by the services themselves; inlines here are read-only.
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def delete_model(self, request, obj):
        self.remove(request, obj)

    def create(self, request, obj, form):
        raise NotImplementedError

    def update(self, request, obj, form, changes):
        raise NotImplementedError

    def remove(self, request, obj):
        raise NotImplementedError
