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

  // Masonry in rank order: each card spans as many 4px grid rows as it is tall (plus the gap).
  var ROW = 4;
  function gapOf(grid) {
    var gap = parseFloat(getComputedStyle(grid).columnGap);
    return isNaN(gap) ? 16 : gap;
  }
  function layoutCard(card, gap) {
    card.style.gridRowEnd = "auto";
    var height = card.getBoundingClientRect().height;
    card.style.gridRowEnd = "span " + Math.max(1, Math.ceil((height + gap) / ROW));
  }
  function layout(grid) {
    if (getComputedStyle(grid).display !== "grid") return;
    var gap = gapOf(grid);
    var cards = grid.children;
    for (var i = 0; i < cards.length; i++) layoutCard(cards[i], gap);
  }
  function masonry(grid) {
    layout(grid);
    grid.addEventListener("load", function (event) {
      var card = event.target.closest && event.target.closest(".card");
      if (card) layoutCard(card, gapOf(grid));
    }, true);
    // "Why am I seeing this?" opens and closes: the card changes height.
    grid.addEventListener("toggle", function (event) {
      var card = event.target.closest && event.target.closest(".card");
      if (card) layoutCard(card, gapOf(grid));
    }, true);
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { layout(grid); }, 100);
    });
  }

  function ready() {
    var forms = document.querySelectorAll("form[data-autosubmit]");
    for (var i = 0; i < forms.length; i++) autosubmit(forms[i]);
    var grids = document.querySelectorAll(".grid[data-masonry]");
    for (var j = 0; j < grids.length; j++) masonry(grids[j]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();

/* --- Save button (boards, issue 14) ---------------------------------------------------------------
   The Save button's forms (web/templates/_save_button.html) work as plain POSTs; here they are sent
   with fetch instead, and the server's new state of the button replaces the old one in place. */
(function () {
  "use strict";

  function submitNatively(form, submitter) {
    if (submitter && submitter.name) {
      var carry = document.createElement("input");
      carry.type = "hidden";
      carry.name = submitter.name;
      carry.value = submitter.value;
      form.appendChild(carry);
    }
    form.submit();
  }

  function send(form, submitter) {
    var body = new FormData(form);
    if (submitter && submitter.name) body.append(submitter.name, submitter.value);
    var button = form.closest("[data-save-button]");
    if (button) button.setAttribute("aria-busy", "true");
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (response) {
      if (response.redirected) { window.location.href = response.url; return null; }
      if (!response.ok && response.status !== 422) { submitNatively(form, submitter); return null; }
      return response.text();
    }).then(function (html) {
      if (html === null || !button) return;
      var holder = document.createElement("div");
      holder.innerHTML = html.trim();
      var fresh = holder.firstElementChild;
      if (!fresh) return;
      button.replaceWith(fresh);
      // The card changed height: the masonry grid listens for "toggle" (captured) to lay it out again.
      fresh.dispatchEvent(new Event("toggle"));
      var status = fresh.querySelector(".saved-to, .save-error, .btn-save");
      if (status && status.focus && status.classList.contains("btn-save")) status.focus();
    }).catch(function () { submitNatively(form, submitter); });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.matches || !form.matches("form[data-save-form]")) return;
    if (typeof fetch !== "function" || typeof FormData !== "function") return;
    event.preventDefault();
    send(form, event.submitter);
  });
})();
