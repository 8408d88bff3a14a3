#!/usr/bin/env python
"""Benchmark: the pages' budgets (issue 5), in Debian's chromium driven by Playwright, against the production server.

Run from the repository root:  python bench/pages.py [--keep DIR]        (make bench runs it)

1. A scratch installation in a temporary folder, set up as ``make demo`` does: DEBUG off, a secret key,
   ``migrate``, ``collectstatic`` (WhiteNoise's hashed, precompressed files), ``seed_demo --cases N`` (the demo
   city, its accounts with the password ``yiwang-demo`` and N cases of history; BENCH_PAGES_CASES, default
   200; with --keep DIR the installation is made in DIR and reused by later runs), then gunicorn (config.wsgi, 2 workers × 4 threads) on a free loopback port.
2. The resident report page ``/m/report/``, as an anonymous resident on a phone (390×844), LOADS times
   (BENCH_PAGES_LOADS, default 5), each in a new browser context — an empty cache and no cookies — after two
   loads not counted (they warm the server's workers, not the browser). For each load:
     - bytes transferred: the sum of ``encodedDataLength`` of every response the page received (Chrome
       DevTools Protocol ``Network.loadingFinished``: compressed bodies plus headers), counted until the
       network has been idle for 500 ms after the load event, so requests the page's scripts make count too;
     - time to interactive: from the start of navigation to the later of the load event's end
       (``loadEventEnd``: the HTML, the styles, the scripts and images are in) and the mark the page's script
       sets once every handler is in place (``performance.mark("yw-report-ready")`` at the end of
       phone/report.js). No network or CPU throttling: the budget is "on the local server".
   Budgets: the median load at most 150 KB transferred and interactive within 1 s.
3. axe-core (yiwang/web/testing/axe.min.js) on the main pages, each signed in as the person who uses it; the
   serious and critical violations are counted (budget: none). A page that answers 404 is reported as missing,
   not failed (pages still being built).

Prints one table with PASS/FAIL per budget and exits with 1 if any budget fails.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
PY = str(ROOT / ".venv" / "bin" / "python")
from benchkit.server import Server  # noqa: E402  (bench/ is on the path: this file runs as a script)

CASES = int(os.environ.get("BENCH_PAGES_CASES", "200"))
LOADS = int(os.environ.get("BENCH_PAGES_LOADS", "5"))
PASSWORD = "yiwang-demo"
BUDGET_BYTES = 150 * 1024
BUDGET_TTI_MS = 1000.0

# (page, who signs in — None: nobody, screen size); "{case}" is a case page found from the case list.
AXE_PAGES = [
    ("/m/report/", None, "phone"),
    ("/m/", "resident", "phone"),
    ("/m/report/", "resident", "phone"),
    ("/m/mine/", "resident", "phone"),
    ("/m/grid/", "gridworker", "phone"),
    ("/login/", None, "desktop"),
    ("/login/", None, "phone"),
    ("/console/inbox/", "acceptor", "desktop"),
    ("/console/cases/", "acceptor", "desktop"),
    ("{case}", "acceptor", "desktop"),
    ("/console/unit/", "unit", "desktop"),
    ("/console/leader/", "leader", "desktop"),
    ("/command/", "leader", "desktop"),
    ("/command/m/", "leader", "phone"),
    ("/command/assessment/", "leader", "desktop"),
]


def manage(env, *args) -> None:
    started = time.perf_counter()
    result = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    print(f"  manage.py {' '.join(args)}: {time.perf_counter() - started:.0f} s", flush=True)


def installation(workdir: Path, reuse: bool) -> dict:
    env = {**os.environ, "SECRET_KEY": "bench-" + uuid.uuid4().hex, "YIWANG_VAR_DIR": str(workdir),
           "YIWANG_MEDIA_ROOT": str(workdir / "media"), "ALLOWED_HOSTS": "127.0.0.1", "YIWANG_DEBUG": "0",
           "YIWANG_LOG_LEVEL": "WARNING"}
    for name in ("DATABASE_URL", "REDIS_URL", "YIWANG_SECURE", "YIWANG_TILE_URL", "YIWANG_MEDIA_STORAGE"):
        env.pop(name, None)
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "collectstatic", "--no-input", "-v", "0")
    manage(env, "seed_demo", "--cases", str(CASES), "-v", "0", *(["--if-missing"] if reuse else []))
    return env


TIMING_JS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const ready = performance.getEntriesByName("yw-report-ready")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  return {load: nav.loadEventEnd, dcl: nav.domContentLoadedEventEnd, ttfb: nav.responseStart,
          ready: ready ? ready.startTime : null, fcp: fcp ? fcp.startTime : null,
          spans: Object.fromEntries([nav, ...performance.getEntriesByType("resource")]
              .map(r => [r.name, [r.startTime, r.responseEnd]])),
          resourceTransfer: nav.transferSize + performance.getEntriesByType("resource")
              .reduce((sum, r) => sum + r.transferSize, 0)};
}"""


def cold_load(browser, presets, url: str) -> dict:
    """One load of url in a new context (empty cache, no cookies): bytes over the wire and the timings."""
    context = browser.new_context(locale="zh-CN", **presets["phone"])
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    urls, sizes = {}, {}
    cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    page.wait_for_function("document.getElementById('report-form').dataset.ready === '1'")
    timing = page.evaluate(TIMING_JS)
    context.close()
    by_url = {urls.get(rid, rid): size for rid, size in sizes.items()}
    interactive = max(timing["load"], timing["ready"] or 0)
    return {"bytes": sum(by_url.values()), "interactive_ms": interactive, "by_url": by_url, **timing}


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.locator("form:has(input[name=password]) [type=submit]").first.click()
    if "/login/" in page.url:
        raise RuntimeError(f"could not sign in as {username}")


def axe_round(browser, presets, base: str) -> list[tuple]:
    from yiwang.web.testing.browser import axe_violations

    rows, contexts = [], {}
    try:
        for path, who, size in AXE_PAGES:
            key = (who, size)
            if key not in contexts:
                contexts[key] = browser.new_context(locale="zh-CN", **presets[size])
                if who:
                    sign_in(contexts[key].new_page(), base, who)
            page = contexts[key].new_page()
            if path == "{case}":
                page.goto(f"{base}/console/cases/")
                link = page.locator("a[href^='/console/cases/']").filter(has_text=re.compile(r"\d")).first
                href = link.get_attribute("href") if link.count() else None
                if not href or not re.fullmatch(r"/console/cases/\d+/", href):
                    rows.append(("/console/cases/<id>/", who, size, "missing", None, "no case in the list"))
                    continue
                path = href
            response = page.goto(f"{base}{path}", wait_until="load")
            label = f"/console/cases/<id>/ ({path})" if path.startswith("/console/cases/") and path[15:-1].isdigit() \
                else path
            if response is None or response.status == 404:
                rows.append((label, who, size, "missing", None, "404"))
                continue
            if response.status != 200 or "/login/" in page.url and path != "/login/":
                rows.append((label, who, size, "error", None, f"HTTP {response.status} at {page.url[len(base):]}"))
                continue
            page.wait_for_load_state("networkidle")
            violations = axe_violations(page)
            detail = "; ".join(f"{v['impact']} {v['id']} ×{len(v['nodes'])} {v['nodes'][:2]}" for v in violations)
            rows.append((label, who, size, "ok", len(violations), detail))
            page.close()
    finally:
        for context in contexts.values():
            context.close()
    return rows


def kb(n: float) -> str:
    return f"{n / 1024:.1f} KB"


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", help="make the installation in this folder and reuse it in later runs")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from yiwang.web.testing.browser import DESKTOP, PHONE, launch

    presets = {"phone": PHONE, "desktop": DESKTOP}
    with tempfile.TemporaryDirectory(prefix="yiwang-bench-pages-") as tmp:
        workdir = Path(args.keep).resolve() if args.keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        print(f"Installation under {workdir} (SQLite, {CASES} cases of history)", flush=True)
        env = installation(workdir, reuse=bool(args.keep))
        server = Server(env)
        try:
            with sync_playwright() as playwright:
                browser = launch(playwright)
                url = f"{server.url}/m/report/"
                for _ in range(2):
                    cold_load(browser, presets, url)  # warm the two workers; not counted
                loads = [cold_load(browser, presets, url) for _ in range(LOADS)]
                axe_rows = axe_round(browser, presets, server.url)
                browser.close()
        finally:
            server.stop()

    print("\n/m/report/ (anonymous, phone), first load with an empty cache — what came over the wire (last load):")
    spans = loads[-1]["spans"]
    for resource, size in sorted(loads[-1]["by_url"].items(), key=lambda item: -item[1]):
        start, end = spans.get(resource, (None, None))
        when = f"{start:6.0f}–{end:4.0f} ms" if start is not None else " " * 14
        print(f"  {kb(size):>10}  {when}  {resource.replace(server.url, '')}")
    print(f"\n{'load':>4} {'bytes':>10} {'TTFB':>8} {'FCP':>8} {'ready':>8} {'DCL':>8} {'load end':>9} "
          f"{'interactive':>12}")
    for n, load in enumerate(loads, 1):
        print(f"{n:>4} {kb(load['bytes']):>10} {load['ttfb']:>6.0f}ms {load['fcp'] or 0:>6.0f}ms "
              f"{load['ready']:>6.0f}ms {load['dcl']:>6.0f}ms {load['load']:>7.0f}ms {load['interactive_ms']:>10.0f}ms")
    print("  (ms from the start of navigation; interactive = the later of `ready` and `load end`)")
    med_bytes = statistics.median(load["bytes"] for load in loads)
    med_tti = statistics.median(load["interactive_ms"] for load in loads)
    med_rt = statistics.median(load["resourceTransfer"] for load in loads)
    print(f"  (cross-check: Resource Timing transferSize, median {kb(med_rt)})")

    results = [
        (f"/m/report/ bytes transferred, first load (median of {LOADS})", kb(med_bytes), "≤ 150 KB",
         med_bytes <= BUDGET_BYTES),
        (f"/m/report/ time to interactive (median of {LOADS})", f"{med_tti:.0f} ms", "≤ 1000 ms",
         med_tti <= BUDGET_TTI_MS),
    ]
    for label, who, size, state, count, detail in axe_rows:
        name = f"axe serious+critical: {label} [{who or 'anonymous'}, {size}]"
        if state == "missing":
            results.append((name, "missing", "0", None))
        elif state == "error":
            results.append((name, detail, "0", False))
        else:
            results.append((name, str(count), "0", count == 0))

    width = max(len(r[0]) for r in results)
    print(f"\n{'budget':<{width}}  {'measured':>12}  {'budget':>10}  result")
    print("-" * (width + 36))
    for name, measured, budget, ok in results:
        verdict = "PASS" if ok else ("FAIL" if ok is False else "—")
        print(f"{name:<{width}}  {measured:>12}  {budget:>10}  {verdict}")
    details = [(label, who, detail) for label, who, size, state, count, detail in axe_rows if detail and count]
    if details:
        print("\naxe violations:")
        for label, who, detail in details:
            print(f"  {label} [{who or 'anonymous'}]: {detail}")
    failed = [r for r in results if r[3] is False]
    missing = [r for r in results if r[3] is None]
    checked = len(results) - len(missing)
    print(f"\n{'FAIL' if failed else 'PASS'}: {checked - len(failed)} of {checked} budgets met"
          + (f"; {len(missing)} pages missing (404), not checked" if missing else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
