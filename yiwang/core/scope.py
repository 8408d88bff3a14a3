"""How a model is reached from a role assignment's scope (see yiwang.accounts.policies.restrict)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ScopeSpec:
    # The field holding the record's region path ("211100000000/211103000000/…/"); region and grid scopes
    # reach the record when this path is under the scope's path.
    path: str | None = None
    # The lookup to a unit; a unit scope reaches the record through it. Models without one are reached from
    # a unit scope through the unit's own region subtree.
    unit: str | None = None
    # The lookup to the user who owns the record; an assignment without a scope (a resident's) reaches it.
    owner: str | None = None
    # Whether `path` is rewritten when a region moves or is renumbered. Journals keep the path of their time.
    follows_moves: bool = True
