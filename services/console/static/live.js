// Live pages (pages/live.py): listen to the page's event stream and, when a session it shows
// changed, re-read that part (the same partial the page was first rendered with) and put it in
// place. On every (re)connect, and on "refresh", every live part is re-read: nothing missed
// stays missed. Without JavaScript the page is still right when reloaded.
(function () {
  var root = document.querySelector("[data-live-events]");
  if (!root || !window.EventSource || !window.fetch) return;
  // A part being read is read once more when told again meanwhile, so the last notice always
  // wins (a burst of notices is at most two reads).
  var reading = {};
  function reread(url) {
    if (reading[url]) { reading[url] = "again"; return; }
    reading[url] = "reading";
    fetch(url, { credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) {
        var part = document.querySelector('[data-live-fragment="' + CSS.escape(url) + '"]');
        if (html && part) part.outerHTML = html;
      })
      .catch(function () { /* the next notice or reconnect reads it again */ })
      .finally(function () {
        var again = reading[url] === "again";
        delete reading[url];
        if (again) reread(url);
      });
  }
  function parts(selector) {
    document.querySelectorAll(selector).forEach(function (part) {
      reread(part.getAttribute("data-live-fragment"));
    });
  }
  var source = new EventSource(root.getAttribute("data-live-events"));
  source.addEventListener("open", function () {
    document.documentElement.setAttribute("data-live", "open");
    parts("[data-live-fragment]");
  });
  source.addEventListener("error", function () {
    document.documentElement.setAttribute("data-live", "reconnecting");
  });
  source.addEventListener("refresh", function () { parts("[data-live-fragment]"); });
  source.addEventListener("changed", function (event) {
    parts('[data-live-session="' + CSS.escape(event.data) + '"]');
  });
})();
