"""Open311 GeoReport v2 (DESIGN §10): the client systems allowed to post reports, and what a report posted
through Open311 carries besides its case. Rows are written only by yiwang.open311.services, journaled."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.core.scope import ScopeSpec


class ApiClient(models.Model):
    """A client system (a city app, a department's system, an existing 311 app) holding an API key. Only the
    key's SHA-256 is stored; the key is shown once, when it is issued. The client reports and reads in its
    jurisdiction (a region subtree) and acts through its own service user, who holds the `api_client` role
    there, so the case services check its scope and the journal names it like any person."""

    name = models.CharField(_("name"), max_length=100)
    key_prefix = models.CharField(_("key prefix"), max_length=8, unique=True, editable=False,
                                  help_text=_("The key's first characters, to recognise it."))
    key_hash = models.CharField(_("key hash"), max_length=64, editable=False)
    region = models.ForeignKey("geo.Region", verbose_name=_("jurisdiction"), on_delete=models.PROTECT,
                               related_name="+", help_text=_("The client reports and reads in this region's subtree."))
    region_path = models.CharField(_("path"), max_length=255, editable=False, db_index=True)
    contact = models.CharField(_("contact"), max_length=200, blank=True,
                               help_text=_("Who runs the client system and how to reach them."))
    service_user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("service user"),
                                        on_delete=models.PROTECT, related_name="open311_client", editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("issued at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    scope = ScopeSpec(path="region_path")

    class Meta:
        verbose_name = _("Open311 client system")
        verbose_name_plural = _("Open311 clients")
        ordering = ["region_path", "name"]

    def __str__(self):
        return f"{self.name} ({self.key_prefix}…)"


class Open311Request(models.Model):
    """A case that came in through Open311: which client sent it, the token the client can look its number up
    with, and the Open311 fields the case itself has no place for. The submitter's e-mail, device and account
    ids are not kept (the case keeps the name and phone staff call back)."""

    case = models.OneToOneField("cases.Case", verbose_name=_("case"), on_delete=models.PROTECT,
                                related_name="open311")
    client = models.ForeignKey(ApiClient, verbose_name=_("client"), on_delete=models.PROTECT,
                               related_name="requests")
    token = models.CharField(_("token"), max_length=32, unique=True)
    media_url = models.URLField(_("media URL"), max_length=500, blank=True)
    address_id = models.CharField(_("address id"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("received at"))

    scope = ScopeSpec(path="case__region_path", follows_moves=False)  # the case's path moves it

    class Meta:
        verbose_name = _("Open311 request")
        verbose_name_plural = _("Open311 requests")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.case_id} ← {self.client_id}"
