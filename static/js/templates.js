// The template composer's small behaviours: each variable row shows only
// the input its source needs (contact field, fixed text or campaign value).
// Loaded by the composer page; no inline scripts (CSP).
(function () {
  "use strict";

  function syncRow(select) {
    var row = select.closest(".var-row");
    if (!row) return;
    row.querySelectorAll("[data-var-input]").forEach(function (el) {
      el.hidden = el.getAttribute("data-var-input") !== select.value;
    });
  }

  function syncAll(root) {
    (root || document).querySelectorAll("select[data-var-source]").forEach(syncRow);
  }

  document.addEventListener("change", function (ev) {
    if (ev.target.matches && ev.target.matches("select[data-var-source]")) syncRow(ev.target);
  });
  document.addEventListener("DOMContentLoaded", function () { syncAll(); });
  // htmx swaps the variables section (out of band) and the whole composer.
  document.addEventListener("htmx:load", function (ev) { syncAll(ev.target); });
})();
