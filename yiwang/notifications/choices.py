from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """Ways out. The in-app inbox is the Notification row itself; these are the outbound ones."""

    SMS = "sms", _("SMS")  # 短信
    EMAIL = "email", _("e-mail")
    WEBHOOK = "webhook", _("webhook")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("waiting to be sent")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
