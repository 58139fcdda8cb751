// Promoted Pins on a page: report an ad's impression once at least half of its card has been in view
// for one second (batched), report saving it or opening it up close (engagement), and let a person hide
// an ad or its advertiser (with undo).
(function () {
  "use strict";
  var cards = document.querySelectorAll("[data-ad-token].card-promoted");
  if (!cards.length) return;
  var seen = {}, timers = {}, queue = [], flushTimer = null;

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  }
  function flush() {
    flushTimer = null;
    if (!queue.length) return;
    var tokens = queue.splice(0, 50);
    post("/v1/ads/impressions", { tokens: tokens }).catch(function () {});
    if (queue.length) flushTimer = setTimeout(flush, 0);
  }
  function counted(token) {
    if (seen[token]) return;
    seen[token] = true;
    queue.push(token);
    if (!flushTimer) flushTimer = setTimeout(flush, 300);
  }
  if ("IntersectionObserver" in window) {
    var observer = new IntersectionObserver(
      function (entries) {
        entries.forEach(function (entry) {
          var token = entry.target.getAttribute("data-ad-token");
          if (entry.intersectionRatio >= 0.5) {
            if (!timers[token] && !seen[token]) {
              timers[token] = setTimeout(function () { counted(token); observer.unobserve(entry.target); }, 1000);
            }
          } else if (timers[token]) {
            clearTimeout(timers[token]);
            delete timers[token];
          }
        });
      },
      { threshold: [0, 0.5, 1] }
    );
    cards.forEach(function (card) { observer.observe(card); });
  }
  window.addEventListener("pagehide", flush);

  function engaged(element, kind) {
    var box = element.closest("[data-ad-token].card-promoted");
    if (!box) return;
    post("/v1/ads/engagement", { token: box.getAttribute("data-ad-token"), kind: kind }).catch(function () {});
  }
  // Capture: app.js sends the save with fetch and replaces the form.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form && form.matches && form.matches("form[data-save-form]") && /\/save$/.test(form.action)) {
      engaged(form, "save");
    }
  }, true);
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-ad-closeup]");
    if (link) engaged(link, "closeup");
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-ad-hide]");
    if (!button) return;
    var box = button.closest("[data-ad-token]");
    var card = button.closest(".card");
    var scope = button.getAttribute("data-ad-hide");
    post("/v1/ads/hide", { token: box.getAttribute("data-ad-token"), scope: scope })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r); })
      .then(function (hidden) {
        var note = document.createElement("li");
        note.className = "card card-hidden-note";
        note.setAttribute("role", "status");
        note.textContent = scope === "ad" ? "Ad hidden. " : "Ads from this advertiser hidden. ";
        var undo = document.createElement("button");
        undo.type = "button";
        undo.className = "btn btn-quiet btn-sm";
        undo.textContent = "Undo";
        undo.addEventListener("click", function () {
          fetch("/v1/me/ad-hides/" + hidden.id, { method: "DELETE", credentials: "same-origin" })
            .then(function (r) { if (r.ok) { note.replaceWith(card); } });
        });
        note.appendChild(undo);
        card.replaceWith(note);
      })
      .catch(function () { button.textContent = "Could not hide it; try again"; });
  });
})();
