"""One error shape for the whole platform: a stable machine code, a translated message, an HTTP status."""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A refusal a person can understand. Subclasses fix the code and the HTTP status."""

    code = "invalid"
    status = 400
    default_message = _("The request is not valid.")

    def __init__(self, message=None, *, code: str | None = None, fields: dict | None = None):
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        self.fields = fields or {}
        super().__init__(str(self.message))


class ValidationFailed(DomainError):
    code = "invalid"
    status = 400


class NotFound(DomainError):
    """Missing and forbidden look the same to the caller."""

    code = "not_found"
    status = 404
    default_message = _("Not found.")


class PermissionRefused(DomainError):
    code = "permission_denied"
    status = 403
    default_message = _("You do not have permission to do this.")


class OutOfScope(PermissionRefused):
    code = "out_of_scope"
    default_message = _("This change would move the record outside the area you are responsible for.")


def invalid(message, code: str, field: str | None = None) -> ValidationFailed:
    """A validation error, tied to a form field when there is one."""
    return ValidationFailed(message, code=code, fields={field: [message]} if field else None)


def check_editable(changes: dict, editable: set[str]) -> None:
    unknown = set(changes) - editable
    if unknown:
        from django.utils.translation import gettext

        raise invalid(gettext("These fields cannot be changed: %(f)s") % {"f": ", ".join(sorted(unknown))},
                      "read_only")


def check_date_order(start, end) -> None:
    if end is not None and start is not None and end < start:
        from django.utils.translation import gettext

        raise invalid(gettext("The end date is before the start date."), "date_order", "valid_to")
