/*
 * Tastegraph tag for advertisers' pages. Served by the platform itself; it calls nobody else.
 *
 *   <script async src="https://PLATFORM/tag.js"></script>
 *   <script>
 *     window.tastegraph = window.tastegraph || function () {
 *       (window.tastegraph.q = window.tastegraph.q || []).push(arguments); };
 *     tastegraph("load", "TAG_ID", {em: "<SHA-256 hex of the email, or the email: hashed here>"});
 *     tastegraph("track", "page_visit");
 *     tastegraph("track", "checkout", {value: 42.5, currency: "EUR", order_id: "A-17", event_id: "A-17",
 *                                      line_items: [{product_id: "sku-1", product_price: 42.5}]});
 *   </script>
 *   <noscript><img height="1" width="1" alt="" style="display:none"
 *     src="https://PLATFORM/v1/tag/TAG_ID/event?event=page_visit&noscript=1"></noscript>
 *
 * Events: page_visit, view_category, search, add_to_cart, checkout, signup, lead, watch_video, custom.
 * Data: value, currency, order_quantity, order_id, search_query, event_id, line_items.
 * A plain email given to "load" is trimmed, lower-cased and SHA-256 hashed in the browser; if the page
 * cannot hash (no Web Crypto), the email is dropped, never sent in plain text. The page's address is
 * sent without its query string or fragment.
 * A Promoted Pin's click lands with `tg_click=<click id>` in the address: the tag keeps it in this
 * site's own storage (localStorage, 60 days, the longest attribution window) and sends it with each
 * event as `click_id`, which credits the conversion to that click (docs/api.md).
 */
(function () {
  "use strict";
  var FIELDS = ["value", "currency", "order_quantity", "order_id", "search_query", "event_id"];
  var FP_COOKIE = "_tg_fp";
  var CLICK_KEY = "tastegraph:ad_click";
  var CLICK_MAX_AGE_MS = 60 * 86400 * 1000;
  var CLICK_ID = /^[A-Za-z0-9_-]{16,32}$/;

  function scriptElement() {
    if (document.currentScript) return document.currentScript;
    var scripts = document.getElementsByTagName("script");
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/tag\.js(\?|$)/.test(scripts[i].src)) return scripts[i];
    }
    return null;
  }

  var script = scriptElement();
  if (!script) return;
  var platform = new URL(script.src).origin;
  var tagId = null;
  var emailHash = null;
  var ready = null; // a promise while the email is being hashed
  var pending = [];

  function randomId() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // A first-party cookie on the advertiser's own site: the same visitor across its pages.
  function siteVisitorId() {
    var match = document.cookie.match(/(?:^|;\s*)_tg_fp=([0-9a-f]{32})/);
    if (match) return match[1];
    var id = randomId();
    document.cookie = FP_COOKIE + "=" + id + "; path=/; max-age=" + 365 * 86400 + "; SameSite=Lax";
    return id;
  }

  // The ad click id this visit came with (tg_click in the address), or the one kept from a visit of
  // the last 60 days; first-party only.
  function adClickId() {
    var fresh = null;
    try { fresh = new URLSearchParams(location.search).get("tg_click"); } catch (e) { fresh = null; }
    if (fresh && !CLICK_ID.test(fresh)) fresh = null;
    try {
      if (fresh) {
        window.localStorage.setItem(CLICK_KEY, JSON.stringify({ id: fresh, at: Date.now() }));
        return fresh;
      }
      var kept = JSON.parse(window.localStorage.getItem(CLICK_KEY) || "null");
      if (kept && CLICK_ID.test(String(kept.id)) && Date.now() - kept.at < CLICK_MAX_AGE_MS) return kept.id;
      window.localStorage.removeItem(CLICK_KEY);
    } catch (e) { /* storage off: only what the address says */ }
    return fresh;
  }

  function hashEmail(value) {
    var text = String(value || "").trim().toLowerCase();
    if (/^[0-9a-f]{64}$/.test(text)) return Promise.resolve(text);
    if (!text || !window.crypto || !window.crypto.subtle || !window.TextEncoder) return Promise.resolve(null);
    text = text.normalize ? text.normalize("NFC") : text;
    return window.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)).then(function (digest) {
      return Array.prototype.map.call(new Uint8Array(digest), function (b) {
        return ("0" + b.toString(16)).slice(-2);
      }).join("");
    }, function () { return null; });
  }

  function send(event, data) {
    var params = new URLSearchParams();
    params.set("event", event);
    params.set("fp", siteVisitorId());
    params.set("url", location.origin + location.pathname);
    if (emailHash) params.set("em", emailHash);
    var click = adClickId();
    if (click) params.set("click_id", click);
    data = data || {};
    FIELDS.forEach(function (name) {
      if (data[name] !== undefined && data[name] !== null) params.set(name, String(data[name]));
    });
    if (data.line_items) params.set("line_items", JSON.stringify(data.line_items));
    var img = new Image(1, 1);
    img.referrerPolicy = "origin";
    img.src = platform + "/v1/tag/" + encodeURIComponent(tagId) + "/event?" + params.toString();
  }

  function run(args) {
    var command = args[0];
    if (command === "load") {
      tagId = String(args[1] || "");
      var options = args[2] || {};
      if (options.em) {
        ready = hashEmail(options.em).then(function (hash) { emailHash = hash; ready = null; flush(); });
      }
    } else if (command === "track") {
      if (!tagId || ready) { pending.push(args); return; }
      send(String(args[1] || "custom"), args[2]);
    }
  }

  function flush() {
    var queued = pending;
    pending = [];
    queued.forEach(run);
  }

  var queue = (window.tastegraph && window.tastegraph.q) || [];
  window.tastegraph = function () { run(Array.prototype.slice.call(arguments)); };
  for (var i = 0; i < queue.length; i++) run(Array.prototype.slice.call(queue[i]));
  flush();
})();
