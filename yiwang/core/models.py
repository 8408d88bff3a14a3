from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.core.scope import ScopeSpec


class AuditEntryQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        """Every way into the journal (audit_write, bulk_create_journaled, the imports) ends here, so no entry
        is stored unchained: they are linked onto the chain's tail in list order, then inserted in that order."""
        from yiwang.core.journal import journal_link

        objs = list(objs)
        if objs:
            journal_link(objs, using=self.db)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_insert(self, objs) -> None:
        """The same door for bulk loads (imports): linked exactly as bulk_create, then written with the bulk
        path (COPY on PostgreSQL, yiwang.core.bulk) in the caller's transaction."""
        from yiwang.core import bulk
        from yiwang.core.journal import journal_link

        objs = list(objs)
        if objs:
            journal_link(objs, using=self.db)
            bulk.insert(self.model, [vars(entry) for entry in objs])


class AuditEntry(models.Model):
    """Append-only journal of every change to the platform's base data: who, when, what, before/after, why.

    The database refuses UPDATE and DELETE on this table (triggers, see migration 0002), and each entry carries
    the hash of the one before it (yiwang.core.journal), so a change made around the triggers shows.
    """

    created_at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("actor"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    actor_roles = models.JSONField(_("actor's roles at the time"), default=list, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, db_index=True)
    object_id = models.CharField(_("object id"), max_length=64, db_index=True)
    object_repr = models.CharField(_("object"), max_length=255, blank=True)
    scope_path = models.CharField(_("region path"), max_length=255, blank=True, db_index=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    prev_hash = models.CharField(_("previous entry's hash"), max_length=64, blank=True, default="")
    hash = models.CharField(_("hash"), max_length=64, blank=True, default="")

    objects = AuditEntryQuerySet.as_manager()
    scope = ScopeSpec(path="scope_path", follows_moves=False)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit journal")
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "id"])]
        constraints = [
            # Two entries chained onto the same tail would fork the chain: refused, whatever the writer did.
            models.UniqueConstraint(fields=["prev_hash"], name="core_auditentry_one_successor"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_repr}"


class IdempotencyKey(models.Model):
    """The first answer to a request carrying an `Idempotency-Key`: a retry with the same key gets the same
    answer instead of creating a second case. Written in the transaction of the change it answers for."""

    owner = models.CharField(_("owner"), max_length=64)  # "user:12", "open311:3"
    endpoint = models.CharField(_("endpoint"), max_length=64)
    key = models.CharField(_("key"), max_length=128)
    request_hash = models.CharField(_("request fingerprint"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status"))
    response = models.JSONField(_("response"))
    created_at = models.DateTimeField(_("time"), db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["owner", "endpoint", "key"], name="idempotency_key_unique")]

    def __str__(self):
        return f"{self.owner} {self.endpoint} {self.key}"
