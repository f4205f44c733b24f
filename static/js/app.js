// Herald's small behaviours. No inline scripts anywhere (the CSP forbids
// them), so pages opt in with data- attributes.
(function () {
  "use strict";

  // <form data-confirm="Send to 100,000 people?"> asks before submitting.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var msg = form.getAttribute && form.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
  }, true);

  // <button data-copy="#selector"> copies the element's text.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("[data-copy]");
    if (!btn) return;
    var el = document.querySelector(btn.getAttribute("data-copy"));
    if (!el) return;
    var text = el.value !== undefined && el.tagName === "INPUT" ? el.value : el.textContent;
    navigator.clipboard.writeText(text.trim()).then(function () {
      var old = btn.textContent;
      btn.textContent = "Copied";
      setTimeout(function () { btn.textContent = old; }, 1500);
    });
  });

  // Flash messages fade after a while; errors stay until dismissed.
  function fadeFlashes(root) {
    (root || document).querySelectorAll(".flash-success, .flash-info").forEach(function (el) {
      setTimeout(function () { el.classList.add("flash-gone"); }, 6000);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { fadeFlashes(); });
  document.addEventListener("htmx:afterSwap", function (ev) { fadeFlashes(ev.target); });
})();

// <input type="checkbox" data-select-all="ids"> ticks every checkbox named
// "ids" in the same form (contacts bulk actions).
document.addEventListener("change", function (ev) {
  var box = ev.target;
  var name = box.getAttribute && box.getAttribute("data-select-all");
  if (!name || !box.form) return;
  box.form.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (el) {
    el.checked = box.checked;
  });
});
