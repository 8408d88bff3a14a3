// The consoles' behaviours: action forms answered in place (errors next to the field, nothing typed lost),
// keyboard shortcuts, and the case map.
(function () {
  "use strict";

  // After the error slots came back: mark the fields they speak of, and put the focus on the first one.
  function markErrors(form) {
    var first = null;
    form.querySelectorAll(".error[data-for]").forEach(function (slot) {
      var field = slot.dataset.for && document.getElementById(slot.dataset.for);
      if (!field) return;
      var bad = slot.textContent.trim() !== "";
      if (bad) { field.setAttribute("aria-invalid", "true"); first = first || field; }
      else field.removeAttribute("aria-invalid");
    });
    var folded = form.closest("details:not([open])");
    if (folded) folded.open = true;
    var general = form.querySelector(".error[role=alert]");
    if (first) first.focus();
    else if (general && general.textContent.trim()) { general.setAttribute("tabindex", "-1"); general.focus(); }
  }
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("form");
    if (form && event.detail.xhr && event.detail.xhr.status >= 400) setTimeout(function () { markErrors(form); }, 0);
  });

  // --- keyboard --------------------------------------------------------------------------------------
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-nav] [data-row]")); }
  function currentRow() {
    return document.querySelector("[data-nav] .is-current, [data-nav] tr.is-current");
  }
  function move(step) {
    var list = rows();
    if (!list.length) return;
    var nav = list[0].closest("[data-nav]");
    if (nav.dataset.nav === "inbox") {  // the inbox: the panel follows the selection
      var link = document.querySelector('.panel-tools [data-key="' + (step > 0 ? "j" : "k") + '"]');
      if (link) window.location.assign(link.href);
      return;
    }
    var current = currentRow();
    var index = current ? list.indexOf(current) : -1;
    var next = list[Math.max(0, Math.min(list.length - 1, index + step))];
    if (current) current.classList.remove("is-current");
    next.classList.add("is-current");
    var focusable = next.matches("a") ? next : next.querySelector("a");
    if (focusable) focusable.focus();
  }
  function target(key) {
    var row = currentRow();
    var selector = '[data-key="' + key + '"]';
    return (row && row.querySelector(selector)) || document.querySelector(selector);
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && typing(event.target)) { event.target.blur(); return; }
    // Ctrl+Enter sends the form being typed in (Enter alone makes a new line in a reason).
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && typing(event.target) && event.target.form) {
      event.preventDefault();
      var form = event.target.form;
      var button = form.querySelector("button[type=submit]");
      if (form.requestSubmit) form.requestSubmit(button || undefined); else if (button) button.click();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var key = event.key;
    if (key === "?") {
      var help = document.getElementById("keys-help");
      if (help) { help.open = !help.open; help.querySelector("summary").focus(); }
      event.preventDefault();
      return;
    }
    if (key === "j" || key === "k") {
      var list = rows();
      if (list.length) { event.preventDefault(); move(key === "j" ? 1 : -1); return; }
    }
    var element = target(key);
    if (!element && key === "/") {  // no search box here: the case list's, focused
      var list = document.querySelector("[data-search]");
      if (list) { event.preventDefault(); window.location.assign(list.href + "#search"); }
      return;
    }
    if (!element) return;
    event.preventDefault();
    var folded = element.closest("details:not([open])");
    if (folded) folded.open = true;
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName)) { element.focus(); return; }
    if (element.tagName === "A") { window.location.assign(element.href); return; }
    element.click();
  });

  // --- the map -------------------------------------------------------------------------------------
  function drawMaps() {
    document.querySelectorAll("[data-map]").forEach(function (box) {
      var source = document.getElementById(box.dataset.map);
      if (!source || !window.L) return;
      var data = JSON.parse(source.textContent);
      window.ywLeaflet(L);
      var map = L.map(box, {attributionControl: !!data.tiles, keyboard: true});
      if (data.tiles) L.tileLayer(data.tiles, {maxZoom: 19, attribution: data.attribution || ""}).addTo(map);
      // The view first: Leaflet draws vector layers only on a map that has one.
      var layers = [], bounds = null;
      if (data.grid) {
        var grid = L.geoJSON(data.grid, {style: {color: "#0b57d0", weight: 2, fillOpacity: 0.08}});
        if (data.grid_name) grid.bindTooltip(data.grid_name);
        layers.push(grid);
        bounds = grid.getBounds();
      }
      if (data.point) {
        layers.push(L.circleMarker(data.point, {radius: 8, color: "#b3261e", weight: 3, fillColor: "#fff", fillOpacity: 1}));
        bounds = bounds ? bounds.extend(data.point) : L.latLngBounds([data.point, data.point]);
      }
      if (bounds) map.fitBounds(bounds.pad(0.2), {maxZoom: 17});
      else map.setView([35, 105], 4);
      layers.forEach(function (layer) { layer.addTo(map); });
    });
  }

  function start() {
    drawMaps();
    if (window.location.hash === "#search") {  // came here by "/" from a page without a search box
      var box = document.querySelector('input[data-key="/"]');
      if (box) box.focus();
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
