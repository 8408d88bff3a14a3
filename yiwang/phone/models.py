"""What the phone pages keep of their own: one-time sign-in codes, and a resident's word that a new report is the
same problem as an open case nearby."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LoginCode(models.Model):
    """A 6-digit sign-in code sent by SMS. Only its keyed hash is kept; it lives a few minutes and takes a few
    attempts (yiwang.phone.services)."""

    phone = models.CharField(_("phone"), max_length=20, db_index=True)
    code_hash = models.CharField(_("code hash"), max_length=128)
    created_at = models.DateTimeField(_("sent at"))
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("wrong attempts"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in code")
        verbose_name_plural = _("sign-in codes")
        indexes = [models.Index(fields=["phone", "-created_at"])]

    def __str__(self):
        phone = self.phone
        return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "****"


class DuplicateClaim(models.Model):
    """The reporter said, before sending, that their report is the same problem as an open case nearby. The
    acceptor reads it next to the duplicate suggestions and merges the report into that case, so its outcome
    reaches this reporter too."""

    case = models.OneToOneField("cases.Case", verbose_name=_("report"), on_delete=models.CASCADE,
                                related_name="duplicate_claim")
    same_as = models.ForeignKey("cases.Case", verbose_name=_("same problem as"), on_delete=models.CASCADE,
                                related_name="+")
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("claimed by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("duplicate claim")
        verbose_name_plural = _("duplicate claims")

    def __str__(self):
        return f"{self.case_id} → {self.same_as_id}"
