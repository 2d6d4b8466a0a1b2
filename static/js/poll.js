// Progress polling without a framework: an element with data-poll-url is replaced by the
// fragment that URL returns (requested with "X-Poll: 1") every data-poll-seconds, until the
// fragment it receives no longer asks to be polled; a fragment marked data-poll-reload reloads
// the page instead. No inline script: CSP-friendly.
(function () {
  "use strict";
  function schedule(element) {
    var url = element.getAttribute("data-poll-url");
    var seconds = parseFloat(element.getAttribute("data-poll-seconds") || "2");
    if (!url) { return; }
    window.setTimeout(function () {
      fetch(url, { headers: { "X-Poll": "1" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) { schedule(element); return; }
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.firstElementChild;
          if (!fresh) { return; }
          if (fresh.hasAttribute("data-poll-reload")) {
            // the work finished: the whole page changes (counts, warnings), so load it again
            window.location.reload();
            return;
          }
          element.replaceWith(fresh);
          if (fresh.hasAttribute("data-poll-url")) { schedule(fresh); }
        })
        .catch(function () { schedule(element); });
    }, seconds * 1000);
  }
  document.querySelectorAll("[data-poll-url]").forEach(schedule);
})();
