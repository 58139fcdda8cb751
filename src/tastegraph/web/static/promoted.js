// Promoted Pins on a page: report an ad's impression once at least half of its card has been in view
// for one second (batched), report saving it or opening it up close (engagement), and let a person hide
// an ad or its advertiser (with undo).
// Browser measurement mode (TASTEGRAPH_MEASUREMENT_PIXELS=browser, and only on cards the server gave
// `data-ad-pixels`, i.e. when the person's consent allows): after the platform answered that an
// impression, click or engagement was recorded, call the ad's third-party URLs for it, without
// credentials (no cookies) and without a referrer.
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
  var pixelsOf = {};
  cards.forEach(function (card) {
    var given = card.getAttribute("data-ad-pixels");
    if (!given) return;
    try { pixelsOf[card.getAttribute("data-ad-token")] = JSON.parse(given); } catch (e) { /* none */ }
  });
  function firePixels(token, event) {
    var urls = (pixelsOf[token] || {})[event] || [];
    urls.forEach(function (url) {
      if (!/^https?:\/\//.test(url)) return;
      fetch(url, {
        method: "GET",
        mode: "no-cors",
        credentials: "omit",
        referrerPolicy: "no-referrer",
        cache: "no-store",
        keepalive: true,
      }).catch(function () {});
    });
  }
  function recordedThen(token, event) {
    return function (r) {
      if (!r.ok) return;
      return r.json().then(function (answer) {
        if (answer && answer.status === "recorded") firePixels(token, event);
      });
    };
  }
  function flush() {
    flushTimer = null;
    if (!queue.length) return;
    var tokens = queue.splice(0, 50);
    post("/v1/ads/impressions", { tokens: tokens })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) {
        if (!answer) return;
        answer.results.forEach(function (result, i) {
          if (result.status === "recorded") firePixels(tokens[i], "impression");
        });
      })
      .catch(function () {});
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
    var token = box.getAttribute("data-ad-token");
    post("/v1/ads/engagement", { token: token, kind: kind })
      .then(recordedThen(token, "engagement"))
      .catch(function () {});
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
    if (!link) return;
    var box = link.closest("[data-ad-token].card-promoted");
    var token = box && box.getAttribute("data-ad-token");
    var plain = event.button === 0 && !(event.metaKey || event.ctrlKey || event.shiftKey || event.altKey);
    if (!token || !plain || !((pixelsOf[token] || {}).engagement || []).length) {
      engaged(link, "closeup");
      return;
    }
    // With engagement pixels: the page must still be here when the platform answers, to call them.
    event.preventDefault();
    post("/v1/ads/engagement", { token: token, kind: "closeup" })
      .then(recordedThen(token, "engagement"))
      .catch(function () {})
      .then(function () { window.location.assign(link.getAttribute("href")); });
  });

  // A click on a card with click pixels: ask the platform to count it (the same click link, as JSON),
  // call the pixels if it was recorded, then go where the link leads. Other clicks (new tab, modifier
  // keys, cards without pixels) follow the link as usual, and the platform counts them the same way.
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='/v1/ads/click/']");
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var box = link.closest("[data-ad-token].card-promoted");
    if (!box) return;
    var token = box.getAttribute("data-ad-token");
    if (!((pixelsOf[token] || {}).click || []).length) return;
    event.preventDefault();
    fetch(link.getAttribute("href"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r); })
      .then(function (answer) {
        if (answer.status === "recorded") firePixels(token, "click");
        window.location.assign(answer.destination);
      })
      .catch(function () { window.location.assign(link.getAttribute("href")); });
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
