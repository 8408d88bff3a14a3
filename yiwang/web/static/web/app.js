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
