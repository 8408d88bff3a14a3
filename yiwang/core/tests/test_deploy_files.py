"""The files in deploy/ (README, "Running it for a district") stay true to the code they start."""

import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"


def example_settings() -> dict:
    found = {}
    for line in (DEPLOY / "yiwang.env.example").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^#? ?([A-Z][A-Z0-9_]+)=(.*)$", line)
        if match:
            found[match[1]] = match[2]
    return found


def test_every_setting_of_the_example_is_one_the_readme_documents():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Configuration (environment)"):readme.index("## Running it for a district")]
    missing = [name for name in example_settings() if f"`{name}`" not in table]
    assert missing == []


def test_the_example_settings_pass_djangos_deployment_checks(tmp_path):
    """Loaded as systemd loads the file (the commented ones left out), with a secret key filled in:
    `manage.py check --deploy` finds nothing."""
    # Only what a service gets: not the test run's own settings (nor DJANGO_ALLOW_ASYNC_UNSAFE, which the
    # browser tests set and which the deployment checks rightly refuse).
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    for line in (DEPLOY / "yiwang.env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    env["SECRET_KEY"] = "a-long-random-key-" + "x" * 50
    for key, value in env.items():  # /var/lib/yiwang, made in step 3, is a folder of the test's own here
        if value.startswith("/var/lib/yiwang"):
            env[key] = str(tmp_path) + value.removeprefix("/var/lib/yiwang")
            Path(env[key]).mkdir(parents=True, exist_ok=True)
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_services_start_what_exists():
    web = (DEPLOY / "systemd" / "yiwang-web.service").read_text(encoding="utf-8")
    tasks = (DEPLOY / "systemd" / "yiwang-tasks.service").read_text(encoding="utf-8")
    assert "gunicorn config.wsgi:application" in web and (ROOT / "config" / "wsgi.py").is_file()
    assert "manage.py run_huey --workers 2 --flush-locks" in tasks
    for unit in (web, tasks):
        assert "EnvironmentFile=/etc/yiwang/yiwang.env" in unit and "User=yiwang" in unit


def test_the_proxy_takes_the_largest_step_a_phone_may_send():
    conf = (DEPLOY / "nginx" / "yiwang.conf").read_text(encoding="utf-8")
    megabytes = int(re.search(r"client_max_body_size (\d+)m;", conf)[1])
    largest = settings.YIWANG_MAX_ATTACHMENTS * settings.YIWANG_MAX_VIDEO_BYTES
    assert megabytes << 20 >= largest
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf and "proxy_set_header Host $http_host;" in conf
