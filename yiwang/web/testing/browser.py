"""Shared by the browser tests and the page benchmarks: Debian's chromium launched the project's way, axe-core
for accessibility, and screenshots under var/screenshots/."""

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "var" / "screenshots"
AXE = Path(__file__).with_name("axe.min.js")
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1440, "height": 900}}
WALL = {"viewport": {"width": 1920, "height": 1080}}


def launch(playwright):
    if not Path(CHROMIUM).exists():
        raise RuntimeError("Debian's chromium is not installed: run `make test`, which installs it")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def axe_violations(page, *, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core on the page as it is now; the violations of the given impacts, each with its nodes."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"] if v["impact"] in impacts
    ]


def no_violations(page) -> None:
    """Assert axe-core finds no serious or critical violation on the page as it is now."""
    found = axe_violations(page)
    assert found == [], found


def screenshot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def signed_in(page, live_server, user):
    """`page` signed in as `user` without a sign-in form (a resident signs in by SMS code): the session of a test
    client logged in as them, handed to the browser as its cookie. Returns the page."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    return page
