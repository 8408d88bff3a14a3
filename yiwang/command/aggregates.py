"""Rollups kept up to date as cases move (in progress: answers from the plain counts for now)."""

from yiwang.command.plain import daily, mix, node_counts, open_state, unit_counts  # noqa: F401
