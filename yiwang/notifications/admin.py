"""Webhook subscriptions are managed here, in the admin's scope and through the journaled services; the
delivery log (every message that went or is going out, with each attempt) is read here, and a failed delivery
can be tried again."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from yiwang.core.admin_base import ScopedAdmin
from yiwang.core.errors import DomainError, ValidationFailed
from yiwang.notifications import policies, services
from yiwang.notifications.choices import DeliveryStatus
from yiwang.notifications.models import Delivery, DeliveryAttempt, WebhookSubscription


class EventsField(forms.CharField):
    """The events list as text: "case.dispatch, case.verify" or "*"."""

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [item for item in text.replace(",", " ").split() if item]


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https",
                         widget=forms.URLInput(attrs={"size": 80}))
    events = EventsField(
        label=_("events"), widget=forms.TextInput(attrs={"size": 80}),
        help_text=_("Separated by commas, or * for all. Known events: %(events)s")
        % {"events": ", ".join(policies.CASE_EVENTS)})

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "region", "events", "secret", "is_active"]
        widgets = {"secret": forms.TextInput(attrs={"size": 80, "autocomplete": "off"})}


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ScopedAdmin):
    form = WebhookSubscriptionForm
    list_display = ["name", "url", "region", "event_list", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]
    autocomplete_fields = ["region"]
    list_select_related = ["region"]

    @admin.display(description=_("events"))
    def event_list(self, obj):
        return ", ".join(obj.events)

    def create(self, request, obj, form):
        return services.webhook_subscription_create(
            actor=request.user, name=obj.name, url=obj.url, region=obj.region if obj.region_id else None,
            events=obj.events, secret=obj.secret, is_active=obj.is_active)

    def update(self, request, obj, form, changes):
        return services.webhook_subscription_update(actor=request.user, subscription=obj, **changes)

    def has_delete_permission(self, request, obj=None):
        return False  # switched off, never deleted: the delivery log keeps pointing at it

    def remove(self, request, obj):
        raise ValidationFailed(_("Subscriptions are switched off, not deleted."), code="read_only")


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ["number", "started_at", "duration_ms", "ok", "status_code", "error", "response"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(ScopedAdmin):
    list_display = ["created_at", "channel", "event", "target", "case", "status", "attempts", "next_attempt_at",
                    "sent_at", "short_error"]
    list_filter = ["status", "channel", "event"]
    search_fields = ["uuid", "event", "case__number", "subscription__name"]
    list_select_related = ["case", "subscription", "notification__recipient"]
    date_hierarchy = "created_at"
    inlines = [AttemptInline]
    actions = ["retry"]
    fields = ["uuid", "channel", "event", "target", "case", "status", "attempts", "next_attempt_at", "sent_at",
              "last_error", "created_at", "body"]
    readonly_fields = fields

    @admin.display(description=_("to"))
    def target(self, obj):
        if obj.subscription_id:
            return obj.subscription.name
        if obj.notification_id:
            return str(obj.notification.recipient)
        return "—"

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return obj.last_error[:80]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        pass  # every field is read-only; changes happen through the retry action

    @admin.action(description=_("Try the selected deliveries again now"), permissions=["change"])
    def retry(self, request, queryset):
        done = 0
        for delivery in queryset.exclude(status=DeliveryStatus.SENT):
            try:
                services.delivery_retry(actor=request.user, delivery=delivery)
                done += 1
            except DomainError as exc:
                messages.error(request, f"{delivery}: {exc.message}")
        messages.info(request, ngettext("%(n)d delivery will be tried again.",
                                        "%(n)d deliveries will be tried again.", done) % {"n": done})
        if not done and queryset.filter(status=DeliveryStatus.SENT).exists():
            messages.warning(request, gettext("Messages that were sent are not sent again."))
