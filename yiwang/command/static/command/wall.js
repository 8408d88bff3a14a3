// The wall screen's drawings: the charts (ECharts) and the map (Leaflet), from the figures the server embedded
// (#wall-data, refreshed with the live panels) and the polygons it sent once (#map-setup). Clicking an area on
// the map or a row of the ranking drills down to it.
(function () {
  "use strict";
  var INK = "#e8eef7", MUTED = "#aebfd4", LINE = "#1f3a5c", ACCENT = "#4fb0ff";
  var FONT = 'system-ui, "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif';
  var LIGHTS = {red: "#ff5252", yellow: "#ffd740", green: "#69f0ae"};
  var GRADES = {A: "#45d483", B: "#a6d96a", C: "#f5c542", D: "#ff9d4d", E: "#ff6b6b"};
  var HEAT = ["#1d4f7a", "#2f7fb3", "#e8c547", "#f08a3c", "#e54b4b"];
  var PALETTE = ["#4fb0ff", "#45d483", "#f5c542", "#ff9d4d", "#c792ea", "#5ee0e6", "#ff6b6b", "#a6d96a", "#8c9eff"];

  function json(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function drill(code) {
    window.location.href = "?region=" + encodeURIComponent(code);
  }

  // --- charts ------------------------------------------------------------------------------------------
  function chart(id) {
    var box = document.getElementById(id);
    if (!box || !window.echarts) return null;
    var old = echarts.getInstanceByDom(box);
    if (old) old.dispose();
    return echarts.init(box, null, {renderer: "canvas"});
  }

  var axis = {
    axisLine: {lineStyle: {color: LINE}}, axisLabel: {color: MUTED, fontFamily: FONT},
    splitLine: {lineStyle: {color: "rgba(31,58,92,.6)"}}
  };

  function drawTrend(data) {
    var c = chart("chart-trend");
    if (!c) return;
    c.setOption({
      textStyle: {fontFamily: FONT, color: INK}, animation: false,
      grid: {left: 44, right: 12, top: 30, bottom: 24},
      legend: {top: 0, right: 0, textStyle: {color: INK}},
      tooltip: {trigger: "axis"},
      xAxis: Object.assign({type: "category", data: data.trend.map(function (d) { return d.day.slice(5); })}, axis),
      yAxis: Object.assign({type: "value", minInterval: 1}, axis),
      series: [
        {name: data.labels.reported, type: "line", smooth: false, symbolSize: 4, data: data.trend.map(function (d) { return d.reported; }),
         itemStyle: {color: ACCENT}, areaStyle: {color: "rgba(79,176,255,.18)"}},
        {name: data.labels.closed, type: "line", smooth: false, symbolSize: 4, data: data.trend.map(function (d) { return d.closed; }),
         itemStyle: {color: "#45d483"}}
      ]
    });
  }

  function drawHot(data) {
    var c = chart("chart-hot");
    if (!c) return;
    var rows = data.hot.slice().reverse();
    c.setOption({
      textStyle: {fontFamily: FONT, color: INK}, animation: false,
      grid: {left: 8, right: 40, top: 4, bottom: 4, containLabel: true},
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
      xAxis: Object.assign({type: "value", minInterval: 1}, axis, {axisLabel: {show: false}}),
      yAxis: Object.assign({type: "category", data: rows.map(function (r) { return r.name; })}, axis,
                           {axisLabel: {color: INK, fontFamily: FONT, width: 130, overflow: "truncate"}}),
      series: [{type: "bar", data: rows.map(function (r) { return r.count; }), barMaxWidth: 16,
                label: {show: true, position: "right", color: INK},
                itemStyle: {borderRadius: [0, 3, 3, 0], color: new echarts.graphic.LinearGradient(0, 0, 1, 0, [
                  {offset: 0, color: "#1d4f7a"}, {offset: 1, color: ACCENT}])}}]
    });
  }

  function drawChannels(data) {
    var c = chart("chart-channels");
    if (!c) return;
    var rows = data.channels.filter(function (r) { return r.count > 0; });
    c.setOption({
      textStyle: {fontFamily: FONT, color: INK}, animation: false, color: PALETTE,
      tooltip: {trigger: "item", formatter: "{b}: {c} ({d}%)"},
      legend: {orient: "vertical", right: 0, top: "middle", textStyle: {color: INK, fontSize: 13}, itemWidth: 12, itemHeight: 10},
      series: [{type: "pie", radius: ["42%", "72%"], center: ["30%", "50%"], label: {show: false},
                itemStyle: {borderColor: "#0c1a2d", borderWidth: 2},
                data: rows.map(function (r) { return {name: r.label, value: r.count}; })}]
    });
  }

  // --- the map -----------------------------------------------------------------------------------------
  var map = null, setup = null, areas = null, points = null, select = null;

  function heat(value, max) {
    if (!max || !value) return HEAT[0];
    return HEAT[Math.min(HEAT.length - 1, Math.floor((value / max) * (HEAT.length - 1) + 0.5))];
  }

  function legend(measure, max) {
    var scale = document.getElementById("map-scale");
    if (!scale) return;
    scale.textContent = "";
    if (max === null) return;  // a grid: no areas to colour
    function swatch(colour, text) {
      var s = document.createElement("span");
      s.className = "swatch";
      s.style.background = colour;
      scale.appendChild(s);
      if (text !== undefined) scale.appendChild(document.createTextNode(text));
    }
    if (measure === "score") {
      Object.keys(GRADES).forEach(function (g) { swatch(GRADES[g], g); });
    } else {
      scale.appendChild(document.createTextNode("0"));
      HEAT.forEach(function (colour) { swatch(colour); });
      scale.appendChild(document.createTextNode(String(max)));
    }
  }

  function setUpMap() {
    var box = document.getElementById("wall-map");
    setup = json("map-setup");
    if (!box || !setup || !window.L) return;
    window.ywLeaflet(L);
    map = L.map(box, {attributionControl: !!setup.tiles, zoomSnap: 0.25, keyboard: true, maxZoom: 19});
    if (setup.tiles) L.tileLayer(setup.tiles, {maxZoom: 19, attribution: setup.attribution || ""}).addTo(map);
    var bounds = null;
    var outline = setup.shapes.outline ? L.geoJSON(setup.shapes.outline, {
      interactive: false, style: {color: "#8fcbff", weight: 2.5, fill: !!setup.tiles ? false : true,
                                  fillColor: "#12355b", fillOpacity: 0.25}}) : null;
    if (outline) bounds = outline.getBounds();
    Object.keys(setup.shapes.areas).forEach(function (code) {
      var b = L.geoJSON(setup.shapes.areas[code]).getBounds();
      bounds = bounds ? bounds.extend(b) : b;
    });
    var data = json("wall-data");
    (data ? data.points : []).forEach(function (p) {
      var ll = L.latLng(p.lat, p.lon);
      bounds = bounds ? bounds.extend(ll) : L.latLngBounds(ll, ll);
    });
    // The view first: Leaflet draws vector layers only on a map that has one.
    if (bounds) map.fitBounds(bounds.pad(0.04), {maxZoom: 16});
    else map.setView([35, 105], 4);
    if (outline) outline.addTo(map);
    areas = L.layerGroup().addTo(map);
    points = L.layerGroup().addTo(map);
    select = document.getElementById("map-measure");
    if (select) select.addEventListener("change", function () { drawMap(json("wall-data")); });
  }

  function drawMap(data) {
    if (!map || !data) return;
    var measure = select ? select.value : "open";
    var max = 0;
    data.map.forEach(function (row) { if (measure !== "score") max = Math.max(max, row[measure]); });
    areas.clearLayers();
    data.map.forEach(function (row) {
      var shape = setup.shapes.areas[row.code];
      if (!shape) return;
      var fill = measure === "score" ? GRADES[row.grade] : heat(row[measure], max);
      var layer = L.geoJSON(shape, {style: {color: "#cfe6ff", weight: 1.2, fillColor: fill, fillOpacity: 0.62,
                                            className: "wall-area"}});
      var value = measure === "score" ? row.score + " (" + row.grade + ")" : row[measure];
      layer.bindTooltip(row.name + " · " + data.labels[measure] + " " + value, {sticky: true});
      layer.on("click", function () { drill(row.code); });
      layer.addTo(areas);
      layer.eachLayer(function (part) {
        var el = part.getElement && part.getElement();
        if (el) el.setAttribute("data-code", row.code);
      });
    });
    legend(measure, data.map.length ? max : null);
    points.clearLayers();
    data.points.forEach(function (p) {
      L.circleMarker([p.lat, p.lon], {radius: 5, weight: 1, color: "#0c1a2d", fillColor: LIGHTS[p.light] || "#b0bec5",
                                       fillOpacity: 0.95, interactive: false, className: "wall-point"}).addTo(points);
    });
  }

  // --- all together ------------------------------------------------------------------------------------
  function draw() {
    var data = json("wall-data");
    if (!data) return;
    drawTrend(data);
    drawHot(data);
    drawChannels(data);
    drawMap(data);
  }

  function start() {
    setUpMap();
    draw();
    document.addEventListener("click", function (event) {
      var row = event.target.closest("tr[data-href]");
      if (row && !event.target.closest("a")) window.location.href = row.dataset.href;
    });
    // The live panels come back every minute (htmx, out of band): draw their charts again.
    document.body.addEventListener("htmx:afterSettle", function (event) {
      if (event.target && event.target.id === "wall-poll") draw();
    });
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        ["chart-trend", "chart-hot", "chart-channels"].forEach(function (id) {
          var box = document.getElementById(id);
          var c = box && window.echarts && echarts.getInstanceByDom(box);
          if (c) c.resize();
        });
        if (map) map.invalidateSize();
      }, 150);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
