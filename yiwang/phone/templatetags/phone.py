from django import template

from yiwang.org import selectors as org

register = template.Library()


@register.filter
def get(mapping, key):
    """mapping[key], or "" — for a field's errors and values in the phone templates."""
    try:
        return mapping.get(key) or ""
    except AttributeError:
        return ""


@register.filter
def category_name(category):
    """A case's category named in the reader's language ("" without one)."""
    return org.category_name(category)
