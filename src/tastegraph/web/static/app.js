/* Tastegraph pages: small progressive enhancements. Every page works without this script. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Settings toggles save as soon as they change (the Save button is the no-script fallback).
  function autosubmit(form) {
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (!target || target.type !== "checkbox") return;
      var row = form.querySelector(".toggle-row");
      if (row) row.setAttribute("aria-busy", "true");
      if (typeof form.requestSubmit === "function") form.requestSubmit();
      else form.submit();
    });
  }

  function ready() {
    var forms = document.querySelectorAll("form[data-autosubmit]");
    for (var i = 0; i < forms.length; i++) autosubmit(forms[i]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
