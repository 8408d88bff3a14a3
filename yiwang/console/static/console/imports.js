// The upload form: a mapping changed by hand loses its old complaint (the server checks again on sending), and
// the button says the file is on its way while a big file uploads.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("#import-form select[name^=map_]")) return;
    var slot = document.getElementById(select.getAttribute("aria-describedby"));
    if (slot) slot.textContent = "";
    select.removeAttribute("aria-invalid");
    var row = select.closest("tr");
    if (row) row.classList.remove("has-error");
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "import-form") return;
    var button = form.querySelector("button[type=submit]");
    if (!button || button.disabled) return;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.textContent = button.dataset.busy || button.textContent;
  });
  // Coming back to the page (the browser's Back button) shows the button ready again.
  window.addEventListener("pageshow", function () {
    var button = document.querySelector("#import-form button[type=submit][disabled]");
    if (!button) return;
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = button.dataset.idle || button.textContent;
  });
})();
