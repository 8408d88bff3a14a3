"""Static files the way production serves them: `collectstatic` with the hashed, compressed manifest storage
(what `make demo` runs before gunicorn starts), so a vendored file that points at a missing one (a source map)
cannot break the demo again."""

import gzip
import importlib.util
import json
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[3]
VENDOR = ROOT / "yiwang" / "web" / "static" / "vendor"


def production_staticfiles_backend(monkeypatch) -> str:
    """The static storage config/settings.py picks with DEBUG off (the test settings swap it for a plain one)."""
    monkeypatch.setenv("YIWANG_DEBUG", "0")
    monkeypatch.setenv("SECRET_KEY", "static-test-key")
    spec = importlib.util.spec_from_file_location("_production_settings", ROOT / "config" / "settings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.STORAGES["staticfiles"]["BACKEND"]


def test_production_uses_the_compressed_manifest_storage(monkeypatch):
    assert production_staticfiles_backend(monkeypatch) == "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_vendored_files_point_at_no_source_map():
    offenders = [str(p.relative_to(ROOT)) for p in [*VENDOR.rglob("*.js"), *VENDOR.rglob("*.css")]
                 if "sourceMappingURL=" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_collectstatic_succeeds_with_the_production_storage(settings, monkeypatch, tmp_path):
    backend = production_staticfiles_backend(monkeypatch)
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": backend}}

    call_command("collectstatic", interactive=False, verbosity=0)

    manifest = json.loads((settings.STATIC_ROOT / "staticfiles.json").read_text())["paths"]
    for name in ["vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "vendor/htmx/htmx.min.js",
                 "vendor/echarts/echarts.min.js", "web/app.css", "phone/report.js", "console/console.js"]:
        hashed = manifest[name]
        assert hashed != name and (settings.STATIC_ROOT / hashed).is_file()
        # WhiteNoise serves a precompressed copy next to each hashed text file.
        original = (settings.STATIC_ROOT / hashed).read_bytes()
        assert gzip.decompress((settings.STATIC_ROOT / f"{hashed}.gz").read_bytes()) == original
    # leaflet.css's images were rewritten to their hashed names.
    css = (settings.STATIC_ROOT / manifest["vendor/leaflet/leaflet.css"]).read_text()
    assert manifest["vendor/leaflet/images/layers.png"].split("/")[-1] in css


@pytest.mark.django_db
def test_pages_render_against_the_collected_manifest(client, settings, monkeypatch, tmp_path):
    """Every {% static %} name a main page uses must be in the manifest, or production answers 500."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": production_staticfiles_backend(monkeypatch)}}
    call_command("collectstatic", interactive=False, verbosity=0)
    for url in ["/login/", "/m/", "/m/report/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "/static/web/app." in body and "/static/web/app.css" not in body, url  # hashed names
