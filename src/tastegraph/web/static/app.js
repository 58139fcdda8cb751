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
