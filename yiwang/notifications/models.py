from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.core.scope import ScopeSpec


class Notification(models.Model):
    """One message in a person's in-app inbox. Outbound channels (SMS, e-mail, webhooks) read from here."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE,
                                  related_name="notifications")
    kind = models.CharField(_("kind"), max_length=32, db_index=True)
    case = models.ForeignKey("cases.Case", verbose_name=_("case"), null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    text = models.CharField(_("text"), max_length=500)
    created_at = models.DateTimeField(_("time"), db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    scope = ScopeSpec(owner="recipient")

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self):
        return self.text[:60]
