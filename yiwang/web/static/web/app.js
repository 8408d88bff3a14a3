// The shell's small behaviours: the large-text (适老化) switch, remembered on this phone.
(function () {
  var button = document.getElementById("yw-large");
  if (!button) return;
  var root = document.documentElement;
  function show() {
    var on = root.classList.contains("large");
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? button.dataset.on : button.dataset.off;
  }
  button.addEventListener("click", function () {
    root.classList.toggle("large");
    try { localStorage.setItem("yw-large", root.classList.contains("large") ? "1" : "0"); } catch (e) {}
    show();
  });
  show();
})();

// Leaflet's controls in the page's language (the zoom buttons' titles are shown on hover and read out), without
// the English title of Leaflet's own link. Every page that draws a map calls it once Leaflet is loaded.
window.ywLeaflet = function (L) {
  var text = document.body.dataset;
  L.Control.Zoom.prototype.options.zoomInTitle = text.zoomIn || "Zoom in";
  L.Control.Zoom.prototype.options.zoomOutTitle = text.zoomOut || "Zoom out";
  L.Control.Attribution.prototype.options.prefix = '<a href="https://leafletjs.com">Leaflet</a>';
};
