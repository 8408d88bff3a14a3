"""The case loop's cast (yiwang/cases/tests/conftest.py) and a media folder of the test's own."""

import pytest

from yiwang.cases.tests.conftest import cast, report  # noqa: F401 — the case loop's fixtures


@pytest.fixture
def media(settings, tmp_path):
    """MEDIA_ROOT in a fresh folder, on the local file storage whatever the environment says."""
    settings.MEDIA_ROOT = tmp_path / "media"
    local = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    settings.STORAGES = {**settings.STORAGES, "default": local}
    return settings.MEDIA_ROOT


def stored_files(root) -> list:
    if not root.exists():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
