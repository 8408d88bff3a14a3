// The leader's pages: a refused 督办/催办 answers 400/403/409 with the case's row and its message; let htmx
// swap it in, then move the focus to the message so it is read out. The report's print button.
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
  document.addEventListener("htmx:afterSwap", function (event) {
    var message = event.detail.target && document.querySelector("#" + event.detail.target.id + " .msg");
    if (!message && event.detail.elt && event.detail.elt.id) message = document.querySelector("#" + event.detail.elt.id + " .msg");
    if (message) message.focus();
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
  });
})();
