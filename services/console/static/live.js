// Live pages (pages/live.py): listen to the page's event stream and, when a session it shows
// changed, re-read that part (the same partial the page was first rendered with) and put it in
// place. On every (re)connect, and on "refresh", every live part is re-read (This weekend: its
// whole list): nothing missed stays missed. On "listed" (a session joined or left This
// weekend's list) the stream is opened again. Without JavaScript the page is still right when
// reloaded.
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
  // Everything the page shows: on This weekend the whole list (so a session that joined it
  // while the stream was closed shows too), elsewhere each live part.
  function everything() {
    var list = root.getAttribute("data-live-list");
    if (!list) { parts("[data-live-fragment]"); return; }
    fetch(list, { credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) { if (html !== null) root.innerHTML = html; })
      .catch(function () { /* the next notice or reconnect reads it again */ });
  }
  function listen() {
    var source = new EventSource(root.getAttribute("data-live-events"));
    source.addEventListener("open", function () {
      document.documentElement.setAttribute("data-live", "open");
      everything();
    });
    source.addEventListener("error", function () {
      document.documentElement.setAttribute("data-live", "reconnecting");
    });
    source.addEventListener("refresh", everything);
    // A session joined or left the list: a new stream watches the sessions now listed, and
    // opening re-reads the list.
    source.addEventListener("listed", function () {
      source.close();
      document.documentElement.setAttribute("data-live", "reconnecting");
      listen();
    });
    source.addEventListener("changed", function (event) {
      parts('[data-live-session="' + CSS.escape(event.data) + '"]');
    });
  }
  listen();
})();
