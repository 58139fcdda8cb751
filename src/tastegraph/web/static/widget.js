/*!
 * Tastegraph Save button. Include it on your page:
 *   <script src="https://PLATFORM/widget.js" async></script>
 *   <div class="tastegraph-save" data-url="https://your.site/page" data-title="Optional title"
 *        data-pin-media="https://your.site/picture.jpg"></div>
 * The picture saved is data-pin-media, else the page's og:image, else one the person picks among the
 * page's large pictures.
 * It draws a small "Save" button in each placeholder and tells Tastegraph that this page was visited,
 * through a small frame on Tastegraph's origin (so it works where third-party cookies are blocked).
 * Whether that visit is kept and used is decided by Tastegraph's consent rules (the person's settings,
 * Do Not Track, Global Privacy Control, the opt-out cookie); this script never throws on the host page.
 */
(function () {
  "use strict";

  var RED = "#e0533d";

  function scriptElement() {
    var current = document.currentScript;
    if (current && current.src) return current;
    var scripts = document.getElementsByTagName("script");
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/widget\.js(\?|#|$)/.test(scripts[i].src || "")) return scripts[i];
    }
    return null;
  }

  function platformOrigin(script) {
    try {
      return new URL(script.src, location.href).origin;
    } catch (e) {
      var m = /^(https?:\/\/[^\/?#]+)/i.exec(script.src || "");
      return m ? m[1] : null;
    }
  }

  function randomHex32() {
    var out = "";
    var bytes = new Uint8Array(16);
    var c = window.crypto || window.msCrypto;
    if (c && c.getRandomValues) {
      c.getRandomValues(bytes);
    } else {
      for (var j = 0; j < 16; j++) bytes[j] = Math.floor(Math.random() * 256);
    }
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return out;
  }

  function isLoopback(hostname) {
    return hostname === "localhost" || hostname === "127.0.0.1" || hostname === "[::1]" || hostname === "::1";
  }

  // On a development page served from localhost, the page names the site it stands for.
  function siteOverride() {
    if (!isLoopback(location.hostname)) return null;
    var meta = document.querySelector('meta[name="tastegraph:site"]');
    var value = meta && meta.getAttribute("content");
    return value ? String(value).trim().toLowerCase() : null;
  }

  // --- Off-site visits without third-party cookies (issue 14) ------------------------------------
  // The visit is reported by a small frame on Tastegraph's origin (widget-frame.js), which can use the
  // browser's Storage Access API and a partitioned cookie; this page never sees Tastegraph's cookies.

  var CLICK_PARAM = "tg_click";
  var CLICK_KEY = "tastegraph:click";
  var CLICK_MAX_AGE_MS = 24 * 3600 * 1000; // the server forgets click ids after a day too
  var partitionToken = null; // single-use ticket from the frame, for the Pin It popup

  // A click id an outbound click from a Pin put in this page's URL: kept first-party, on this site only
  // (localStorage), for a day, and sent with this site's visits so they reach the person who clicked.
  function keptClickId() {
    var fresh = null;
    try { fresh = new URLSearchParams(location.search).get(CLICK_PARAM); } catch (e) { fresh = null; }
    try {
      if (fresh && /^[A-Za-z0-9_-]{16,64}$/.test(fresh)) {
        window.localStorage.setItem(CLICK_KEY, JSON.stringify({ id: fresh, at: Date.now() }));
        return fresh;
      }
      var kept = JSON.parse(window.localStorage.getItem(CLICK_KEY) || "null");
      if (kept && kept.id && Date.now() - kept.at < CLICK_MAX_AGE_MS) return kept.id;
      window.localStorage.removeItem(CLICK_KEY);
    } catch (e) { /* storage off: use only what the URL says */ }
    return fresh && /^[A-Za-z0-9_-]{16,64}$/.test(fresh) ? fresh : null;
  }

  // The popup URL the Save button opens carries the partition ticket, when the frame has one.
  function withPartition(popupUrl) {
    if (!partitionToken) return popupUrl;
    return popupUrl + (popupUrl.indexOf("?") < 0 ? "?" : "&") + "partition=" + encodeURIComponent(partitionToken);
  }

  function reportVisit(platform) {
    var query = "url=" + encodeURIComponent(location.href) + "&event_id=" + randomHex32();
    var site = siteOverride();
    if (site) query += "&site=" + encodeURIComponent(site);
    var click = keptClickId();
    if (click) query += "&click=" + encodeURIComponent(click);
    var frame = document.createElement("iframe");
    frame.src = platform + "/widget/frame?" + query;
    frame.title = "Tastegraph";
    frame.className = "tastegraph-frame";
    frame.style.cssText = "all:initial;display:none;border:0;width:170px;height:32px;vertical-align:middle;";
    window.addEventListener("message", function (event) {
      if (event.origin !== platform || event.source !== frame.contentWindow) return;
      var data = event.data || {};
      if (data.type === "tastegraph:visit") {
        if (data.partition) partitionToken = data.partition;
        if (window.console && console.debug) console.debug("tastegraph: visit reported", data.status, data.via);
      } else if (data.type === "tastegraph:frame") {
        frame.style.display = data.show ? "inline-block" : "none";
      } else if (data.type === "tastegraph:access" && data.granted) {
        partitionToken = null;
      }
    });
    var host = document.querySelector(".tastegraph-save") || document.body || document.documentElement;
    host.appendChild(frame);
  }

  function saveButton(platform, placeholder) {
    if (placeholder.getAttribute("data-tastegraph-ready")) return;
    placeholder.setAttribute("data-tastegraph-ready", "1");
    var url = placeholder.getAttribute("data-url") || location.href;
    var title = placeholder.getAttribute("data-title") || document.title || "";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "tastegraph-save-button";
    button.setAttribute("aria-label", "Save to Tastegraph");
    // Inline styles that reset everything first: the host page's CSS must not restyle the button.
    button.style.cssText =
      "all:initial;box-sizing:border-box;display:inline-flex;align-items:center;gap:6px;" +
      "padding:7px 14px 7px 10px;border:0;border-radius:999px;background:" + RED + ";color:#fff;" +
      "font:700 14px/1.2 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;cursor:pointer;" +
      "box-shadow:0 1px 3px rgba(0,0,0,.2);white-space:nowrap;";
    var NS = "http://www.w3.org/2000/svg";
    var icon = document.createElementNS(NS, "svg");
    icon.setAttribute("viewBox", "0 0 32 32");
    icon.setAttribute("width", "16");
    icon.setAttribute("height", "16");
    icon.setAttribute("aria-hidden", "true");
    icon.style.cssText = "all:initial;display:block;width:16px;height:16px;flex:none;";
    var shapes = [
      ["circle", { cx: "16", cy: "16", r: "15", fill: "#fff" }],
      ["circle", { cx: "16", cy: "13", r: "5", fill: RED }],
      ["path", { d: "M16 18 L13 29 L16 27 L19 29 Z", fill: RED }]
    ];
    for (var i = 0; i < shapes.length; i++) {
      var el = document.createElementNS(NS, shapes[i][0]);
      for (var key in shapes[i][1]) el.setAttribute(key, shapes[i][1][key]);
      icon.appendChild(el);
    }
    button.appendChild(icon);
    button.appendChild(document.createTextNode("Save"));
    button.addEventListener("click", function () {
      pinItClick(platform, placeholder, url, title);
    });
    placeholder.appendChild(button);
  }

  // --- Pin It: the click -> popup part (which picture, then the popup on the platform's origin) ------
  // The popup is a top-level window on the platform: first-party there, so the person's session works
  // whatever the browser does with third-party cookies. The picture's URL goes along; the platform
  // fetches a copy itself, so the popup never loads anything from this page's host.
  var MIN_SIDE = 200;

  function absoluteUrl(value) {
    try { return new URL(value, location.href).href; } catch (e) { return ""; }
  }

  function isWebUrl(value) {
    return /^https?:\/\//i.test(value || "");
  }

  // The picture the page chose: the placeholder's data-pin-media, else the page's og:image.
  function chosenMedia(placeholder) {
    var named = placeholder.getAttribute("data-pin-media");
    if (named) return absoluteUrl(named);
    var og = document.querySelector('meta[property="og:image"], meta[name="og:image"]');
    var content = og && og.getAttribute("content");
    return content ? absoluteUrl(content) : "";
  }

  // Large pictures on the page (at least MIN_SIDE a side), biggest first, at most 12.
  function largeImages() {
    var found = [], seen = {};
    var images = document.images || [];
    for (var i = 0; i < images.length; i++) {
      var img = images[i];
      var src = absoluteUrl(img.currentSrc || img.src);
      if (!isWebUrl(src) || seen[src]) continue;
      if ((img.naturalWidth || 0) < MIN_SIDE || (img.naturalHeight || 0) < MIN_SIDE) continue;
      seen[src] = true;
      found.push({ src: src, area: img.naturalWidth * img.naturalHeight, alt: img.alt || "" });
    }
    found.sort(function (a, b) { return b.area - a.area; });
    return found.slice(0, 12);
  }

  function openSavePopup(platform, url, title, media, partition) {
    var target = platform + "/save?url=" + encodeURIComponent(url) + "&title=" + encodeURIComponent(title);
    if (media) target += "&media=" + encodeURIComponent(media);
    target = partition ? target + "&partition=" + encodeURIComponent(partition) : withPartition(target);
    // noopener: the popup gets no handle on this page, and this page none on the popup.
    window.open(target, "tastegraph-save", "noopener,width=560,height=720");
  }

  // A chooser drawn on this page (its own pictures, already loaded here): a click picks one.
  function chooseAmong(images, done) {
    var overlay = document.createElement("div");
    overlay.className = "tastegraph-chooser";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-label", "Choose a picture to save");
    overlay.style.cssText =
      "all:initial;position:fixed;inset:0;z-index:2147483647;background:rgba(20,16,12,.72);" +
      "display:flex;flex-wrap:wrap;align-content:flex-start;justify-content:center;gap:12px;" +
      "padding:48px 16px;overflow:auto;font:600 15px/1.3 system-ui,sans-serif;color:#fff;";
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "Cancel";
    close.style.cssText = "all:initial;position:fixed;top:12px;right:16px;color:#fff;cursor:pointer;" +
      "font:700 15px system-ui,sans-serif;";
    close.addEventListener("click", function () { overlay.remove(); });
    overlay.appendChild(close);
    for (var i = 0; i < images.length; i++) {
      (function (image) {
        var pick = document.createElement("button");
        pick.type = "button";
        pick.className = "tastegraph-choice";
        pick.setAttribute("aria-label", "Save this picture" + (image.alt ? ": " + image.alt : ""));
        pick.style.cssText = "all:initial;cursor:pointer;width:180px;height:180px;border-radius:14px;" +
          "overflow:hidden;background:#fff;display:flex;align-items:center;justify-content:center;";
        var thumb = document.createElement("img");
        thumb.src = image.src;
        thumb.alt = "";
        thumb.style.cssText = "all:initial;max-width:100%;max-height:100%;";
        pick.appendChild(thumb);
        pick.addEventListener("click", function () { overlay.remove(); done(image.src); });
        overlay.appendChild(pick);
      })(images[i]);
    }
    document.body.appendChild(overlay);
  }

  function pinItClick(platform, placeholder, url, title) {
    // Set by the page when it has a token of its own; else withPartition adds the frame's ticket.
    var partition = placeholder.getAttribute("data-tastegraph-partition") || window.__tastegraphPartition || "";
    var media = chosenMedia(placeholder);
    if (media || !document.body) {
      openSavePopup(platform, url, title, media, partition);
      return;
    }
    var images = largeImages();
    if (images.length <= 1) {
      openSavePopup(platform, url, title, images.length ? images[0].src : "", partition);
      return;
    }
    chooseAmong(images, function (src) { openSavePopup(platform, url, title, src, partition); });
  }

  function renderButtons(platform) {
    var placeholders = document.querySelectorAll(".tastegraph-save");
    for (var i = 0; i < placeholders.length; i++) {
      try { saveButton(platform, placeholders[i]); } catch (e) { /* skip this one */ }
    }
  }

  try {
    var script = scriptElement();
    var platform = script && platformOrigin(script);
    if (!platform) return;
    // The frame goes next to the first Save button, so both wait for the page's body.
    var start = function () {
      renderButtons(platform);
      try { reportVisit(platform); } catch (e) { /* never break the host page */ }
    };
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", start);
    } else {
      start();
    }
  } catch (e) { /* never break the host page */ }
})();
