/*!
 * Tastegraph save button's frame (issue 14: off-site visits without third-party cookies).
 * It runs on Tastegraph's origin inside the page that carries the save button (widget.js puts it there)
 * and reports that page's visit itself, so the visit travels with the cookies this browser gives it:
 *  - with storage access (granted earlier; or on the person's click on "Use my visits here"), or with
 *    third-party cookies allowed: the first-party browser cookie, tied to the person as on the platform;
 *  - otherwise the partitioned cookie (CHIPS) of this site only, tied to nobody until the person acts
 *    here: the answer's single-use `partition_token` goes to the Pin It popup through widget.js.
 * The embedding page is the one reported: the frame checks it and names it (`embedder`).
 */
(function () {
  "use strict";

  var params = new URLSearchParams(location.search);
  var button = document.getElementById("tg-access");

  function embedderOrigin() {
    var a = location.ancestorOrigins;
    if (a && a.length) return a[0];
    try { return document.referrer ? new URL(document.referrer).origin : null; } catch (e) { return null; }
  }

  function originOf(url) {
    try { return new URL(url).origin; } catch (e) { return null; }
  }

  var parentOrigin = embedderOrigin();
  var pageUrl = params.get("url") || "";

  function tell(message) {
    if (parentOrigin && window.parent !== window) window.parent.postMessage(message, parentOrigin);
  }

  function hasAccess() {
    if (!document.hasStorageAccess) return Promise.resolve(true); // no partitioning in this browser
    return document.hasStorageAccess().then(function (has) {
      if (has || !navigator.permissions || !navigator.permissions.query) return has;
      // Granted before (on an earlier page of this site): take it up without a click.
      return navigator.permissions.query({ name: "storage-access" }).then(function (status) {
        if (status.state !== "granted") return false;
        return document.requestStorageAccess().then(function () { return true; }, function () { return false; });
      }, function () { return false; });
    }, function () { return false; });
  }

  function report(access) {
    var body = { url: pageUrl, event_id: params.get("event_id") || undefined, embedder: parentOrigin };
    if (params.get("site")) body.site = params.get("site");
    if (params.get("click")) body.click_id = params.get("click");
    if (!access) body.partitioned = true;
    return fetch("/v1/offsite/visits", {
      method: "POST",
      credentials: "include",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (answer) { return { status: response.status, answer: answer }; });
    }).then(function (result) {
      var a = result.answer || {};
      tell({
        type: "tastegraph:visit",
        status: result.status,
        stored: !!a.stored,
        linked: !!a.linked,
        via: a.via || null,
        reason: a.reason || null,
        partition: a.partition_token || null,
        access: access
      });
      return a;
    });
  }

  function offerAccess() {
    if (!document.requestStorageAccess) return;
    button.hidden = false;
    tell({ type: "tastegraph:frame", show: true });
    button.addEventListener("click", function () {
      // Must run in the click itself: the browser asks the person (or says no at once).
      document.requestStorageAccess().then(function () {
        button.hidden = true;
        tell({ type: "tastegraph:access", granted: true });
        tell({ type: "tastegraph:frame", show: false });
      }, function () {
        tell({ type: "tastegraph:access", granted: false });
      });
    });
  }

  // Report only the page that embeds this frame: any other URL would be one page speaking for another.
  if (!parentOrigin || !pageUrl || originOf(pageUrl) !== parentOrigin) {
    tell({ type: "tastegraph:visit", stored: false, linked: false, reason: "not_embedded_by_page" });
    return;
  }
  hasAccess().then(function (access) {
    return report(access).then(function (answer) {
      if (!access && answer && answer.stored && !answer.linked) offerAccess();
      else tell({ type: "tastegraph:frame", show: false });
    });
  })["catch"](function () { /* offline or blocked: nothing to do */ });
})();
