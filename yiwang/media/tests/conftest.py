"""The case loop's cast (yiwang/cases/tests/conftest.py) and a media folder of the test's own."""

from yiwang.cases.tests.conftest import cast, media, report  # noqa: F401 — the case loop's fixtures


def stored_files(root) -> list:
    if not root.exists():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
