"""The scale-out configuration: the same code with REDIS_URL (cache and task queue) and S3 media set."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = """
from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import storages
from huey.contrib.djhuey import HUEY
cache.set("yiwang-scale-out-check", 42, 30)
print(cache.get("yiwang-scale-out-check"), type(HUEY).__name__, type(storages["default"]).__name__)
"""


def _redis_up() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


def test_redis_cache_and_task_queue_and_s3_media_are_configured_from_the_environment():
    if not _redis_up():
        pytest.fail("Redis is not running on 127.0.0.1:6379 (make test starts it)")
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:6379/5", "YIWANG_MEDIA_STORAGE": "s3",
           "AWS_STORAGE_BUCKET_NAME": "yiwang-test", "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9",
           "SECRET_KEY": "x" * 50, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", SCRIPT], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    value, queue, storage = result.stdout.strip().splitlines()[-1].split()
    assert (value, queue, storage) == ("42", "RedisHuey", "S3Storage")
