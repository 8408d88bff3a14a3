// Pages whose forms are answered in place: a refused step answers 400/403/409 with its message (and error
// slots, hx-swap-oob); let htmx swap those in like a success. Loaded after htmx by the pages that need it.
(function () {
  "use strict";
  function configure() {
    if (!window.htmx) return;
    htmx.config.responseHandling = [
      {code: "204", swap: false},
      {code: "[23]..", swap: true},
      {code: "4..", swap: true, error: false},
      {code: "...", swap: false, error: true}
    ];
  }
  if (window.htmx) configure(); else document.addEventListener("DOMContentLoaded", configure);
})();
