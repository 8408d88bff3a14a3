#!/usr/bin/env bash
# Refresh the browser libraries the app serves itself (government intranets have no internet, so nothing is
# fetched from a CDN or at run time). The files are committed; run this only to change a version.
set -euo pipefail
cd "$(dirname "$0")/.."
HTMX=2.0.11 LEAFLET=1.9.4 ECHARTS=6.1.0 AXE=4.14.1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "htmx.org@$HTMX" "leaflet@$LEAFLET" "echarts@$ECHARTS" "axe-core@$AXE" >/dev/null)
for f in "$tmp"/*.tgz; do d="${f%.tgz}"; mkdir -p "$d"; tar xzf "$f" -C "$d"; done
v=yiwang/web/static/vendor
cp "$tmp/htmx.org-$HTMX/package/dist/htmx.min.js" "$tmp/htmx.org-$HTMX/package/LICENSE" "$v/htmx/"
cp "$tmp/leaflet-$LEAFLET/package/dist/"{leaflet.js,leaflet.css} "$tmp/leaflet-$LEAFLET/package/LICENSE" "$v/leaflet/"
cp -r "$tmp/leaflet-$LEAFLET/package/dist/images" "$v/leaflet/"
cp "$tmp/echarts-$ECHARTS/package/dist/echarts.min.js" "$tmp/echarts-$ECHARTS/package/LICENSE" "$v/echarts/"
# axe-core is for the accessibility checks in tests and benchmarks only; it is not served.
cp "$tmp/axe-core-$AXE/package/axe.min.js" yiwang/web/testing/axe.min.js
cp "$tmp/axe-core-$AXE/package/LICENSE" yiwang/web/testing/axe-LICENSE
# The packages' source maps are not vendored, so a reference to one would break collectstatic (the manifest
# storage follows sourceMappingURL comments and fails on a missing file). Drop those lines, in the forms Django
# looks for (a line of its own).
for f in "$v"/htmx/htmx.min.js "$v"/leaflet/leaflet.{js,css} "$v"/echarts/echarts.min.js yiwang/web/testing/axe.min.js; do
    sed -i -e '/^\/\/# sourceMappingURL=/d' -e '/^\/\*#[[:blank:]]sourceMappingURL=.*\*\/[[:blank:]]*$/d' "$f"
done
echo "vendored htmx $HTMX, leaflet $LEAFLET, echarts $ECHARTS, axe-core $AXE"
