// Keeps the page current: every few seconds it fetches the same page and swaps in the sections marked
// data-live, except one holding the focus (a form being filled in). Stops while the tab is hidden.
(function () {
  "use strict";
  var seconds = parseInt(document.body.getAttribute("data-refresh"), 10) || 5;

  function focusedIn(element) {
    var active = document.activeElement;
    return active && active !== document.body && element.contains(active);
  }

  function openIn(element) {
    var open = [];
    element.querySelectorAll("details[open]").forEach(function (details) {
      var card = details.closest("[data-group]");
      if (card) { open.push(card.getAttribute("data-group")); }
    });
    return open;
  }

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    document.querySelectorAll("[data-live]").forEach(function (old) {
      var next = old.id ? fresh.getElementById(old.id) : null;
      // Unchanged sections stay as they are: no image fetched again, no jump under the installer's thumb.
      if (!next || focusedIn(old) || old.isEqualNode(next)) { return; }
      var open = openIn(old);
      var copy = document.importNode(next, true);
      open.forEach(function (group) {
        var details = copy.querySelector('[data-group="' + CSS.escape(group) + '"] details');
        if (details) { details.open = true; }
      });
      old.replaceWith(copy);
    });
  }

  function refresh() {
    if (document.hidden) { return; }
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (reply) {
        if (!reply.ok) { throw new Error("HTTP " + reply.status); }
        return reply.text();
      })
      .then(function (html) {
        swap(html);
        document.body.classList.remove("stale");
      })
      .catch(function () { document.body.classList.add("stale"); });
  }

  // The outcome of an action shows at the bottom of the screen wherever the page lands, then goes.
  var flash = document.getElementById("flash");
  if (flash) {
    window.setTimeout(function () { flash.classList.add("gone"); }, 12000);
    flash.addEventListener("click", function () { flash.classList.add("gone"); });
  }

  window.setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { refresh(); }
  });
}());
