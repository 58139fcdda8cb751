/* Feed controls: Hide / "See fewer like this" sends its form in the background, removes the card at
   once and offers Undo (which sends the unhide form). Without this script the forms post and return. */
(function () {
  "use strict";

  var toast = null;

  function send(url, fields) {
    var body = new URLSearchParams();
    for (var name in fields) body.append(name, fields[name]);
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) throw new Error("status " + response.status);
    });
  }

  function closeToast() {
    if (toast && toast.parentNode) toast.parentNode.removeChild(toast);
    toast = null;
  }

  function showToast(text, onUndo) {
    closeToast();
    toast = document.createElement("div");
    toast.className = "hide-toast";
    toast.setAttribute("role", "status");
    var p = document.createElement("p");
    p.textContent = text;
    toast.appendChild(p);
    if (onUndo) {
      var undo = document.createElement("button");
      undo.type = "button";
      undo.textContent = "Undo";
      undo.addEventListener("click", onUndo);
      toast.appendChild(undo);
    }
    document.body.appendChild(toast);
  }

  function csrfFields(form) {
    var fields = {};
    var inputs = form.querySelectorAll("input[type=hidden]");
    for (var i = 0; i < inputs.length; i++) {
      if (inputs[i].name !== "next") fields[inputs[i].name] = inputs[i].value;
    }
    return fields;
  }

  function hidden(form, reason) {
    var pinId = form.getAttribute("data-pin-id");
    var card = form.closest(".card");
    var pinPage = card ? null : form.closest(".pin");
    var menu = form.closest("details");
    if (menu) menu.open = false;
    if (card) card.hidden = true;
    if (pinPage) pinPage.classList.add("pin-hidden");
    var text = reason === "seen_it"
      ? "Hidden. It won't show up again."
      : "Hidden. You'll see fewer ideas like it.";
    showToast(text, function () {
      send("/pins/" + pinId + "/unhide", csrfFields(form)).then(function () {
        if (card) card.hidden = false;
        if (pinPage) pinPage.classList.remove("pin-hidden");
        showToast("It's back.", null);
        setTimeout(closeToast, 3000);
      }, function () {
        showToast("That didn't work. Try again from Tune your feed.", null);
      });
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-hide-form")) return;
    if (typeof fetch !== "function" || typeof URLSearchParams !== "function") return; // plain post
    event.preventDefault();
    var button = event.submitter;
    var reason = button && button.name === "reason" ? button.value : "";
    var fields = csrfFields(form);
    if (reason) fields.reason = reason;
    send(form.action, fields).then(function () { hidden(form, reason); }, function () {
      showToast("That didn't work. Please try again.", null);
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      var open = document.querySelectorAll("details[data-hide-menu][open]");
      for (var i = 0; i < open.length; i++) open[i].open = false;
    }
  });
})();
