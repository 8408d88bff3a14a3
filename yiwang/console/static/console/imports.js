// The upload form: reading a chosen file's columns sends only the head of a big CSV; a mapping changed by hand
// loses its old complaint (the server checks again on sending); the button says the file is on its way while a
// big file uploads; a form that came back refused puts the focus on the first field it speaks of.
(function () {
  "use strict";
  var PREVIEW_BYTES = 1 << 20; // the header sits in the first 20 rows: a megabyte is plenty

  document.addEventListener("htmx:configRequest", function (event) {
    var input = event.detail.elt;
    if (!input || input.id !== "f-file" || !input.files || !input.files[0]) return;
    var file = input.files[0];
    // An XLSX is a zip and must be read whole; a CSV's head is enough to find its columns.
    if (!/\.(csv|txt)$/i.test(file.name) || file.size <= PREVIEW_BYTES) return;
    event.detail.formData.set("file", new File([file.slice(0, PREVIEW_BYTES)], file.name, {type: file.type}));
  });

  function focusFirstError() {
    var form = document.getElementById("import-form");
    var bad = form && form.querySelector("[aria-invalid=true]");
    if (!bad) return;
    var folded = bad.closest("details:not([open])");
    if (folded) folded.open = true;
    bad.focus();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", focusFirstError);
  else focusFirstError();
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
