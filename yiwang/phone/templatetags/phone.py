from django import template

register = template.Library()


@register.filter
def get(mapping, key):
    """mapping[key], or "" — for a field's errors and values in the phone templates."""
    try:
        return mapping.get(key) or ""
    except AttributeError:
        return ""
