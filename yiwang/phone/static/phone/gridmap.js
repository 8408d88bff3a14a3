// The grid worker's map: my grids' outlines and the cases in them, coloured by their deadline light. Leaflet is
// loaded after the page, so the lists are usable at once.
(function () {
  "use strict";
  var box = document.getElementById("grid-map");
  var source = document.getElementById("yw-map-data");
  if (!box || !source) return;
  var data = JSON.parse(source.textContent);
  var COLOURS = {red: "#c5221f", yellow: "#b58100", green: "#1e7a34", none: "#4a5260"};
  var css = document.createElement("link");
  css.rel = "stylesheet"; css.href = box.dataset.leafletCss; document.head.appendChild(css);
  var js = document.createElement("script");
  js.src = box.dataset.leafletJs;
  js.onload = function () {
    window.ywLeaflet(L);
    var map = L.map(box);
    if (data.tile_url) L.tileLayer(data.tile_url, {maxZoom: 19}).addTo(map);
    // The view first: a case's circle marker cannot be drawn on a map that has none yet.
    var outlines = data.grids.map(function (g) {
      return L.geoJSON(g.boundary, {style: {color: "#0b57d0", weight: 2, fillOpacity: 0.06}})
        .bindTooltip(g.name + " · " + g.community);
    });
    var bounds = L.latLngBounds([]);
    outlines.forEach(function (layer) { bounds.extend(layer.getBounds()); });
    data.points.forEach(function (p) { bounds.extend([p.lat, p.lon]); });
    if (bounds.isValid()) map.fitBounds(bounds, {padding: [16, 16]}); else map.setView([39.9, 116.4], 12);
    outlines.forEach(function (layer) { layer.addTo(map); });
    data.points.forEach(function (p) {
      var m = L.circleMarker([p.lat, p.lon], {radius: 8, color: COLOURS[p.light] || COLOURS.none, weight: 3, fillOpacity: 0.7}).addTo(map);
      m.getElement().setAttribute("data-light", p.light || "none");
      if (p.url) m.bindPopup('<a href="' + p.url + '">' + p.number + "</a>");
    });
  };
  document.head.appendChild(js);
})();
