// The leader's pages: after a 督办/催办 answer (or its refusal, see web/refusals.js) is swapped in, move the focus
// to the message so it is read out. The report's print button.
(function () {
  "use strict";
  document.addEventListener("htmx:afterSwap", function (event) {
    var message = event.detail.target && document.querySelector("#" + event.detail.target.id + " .msg");
    if (!message && event.detail.elt && event.detail.elt.id) message = document.querySelector("#" + event.detail.elt.id + " .msg");
    if (message) message.focus();
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
  });
})();
