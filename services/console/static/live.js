// Live pages (pages/live.py): listen to the page's event stream and, when a session it shows
// changed, re-read that part (the same partial the page was first rendered with) with HTMX.
// On every (re)connect, and on "refresh", every live part is re-read: nothing missed stays.
// Without JavaScript the page is still right when reloaded.
(function () {
  var root = document.querySelector("[data-live-events]");
  if (!root || !window.EventSource || !window.htmx) return;
  function reread(part) {
    htmx.ajax("GET", part.getAttribute("data-live-fragment"), { target: part, swap: "outerHTML" });
  }
  function rereadAll() {
    document.querySelectorAll("[data-live-fragment]").forEach(reread);
  }
  var source = new EventSource(root.getAttribute("data-live-events"));
  source.addEventListener("open", function () {
    document.documentElement.setAttribute("data-live", "open");
    rereadAll();
  });
  source.addEventListener("error", function () {
    document.documentElement.setAttribute("data-live", "reconnecting");
  });
  source.addEventListener("refresh", rereadAll);
  source.addEventListener("changed", function (event) {
    document.querySelectorAll('[data-live-session="' + CSS.escape(event.data) + '"]').forEach(reread);
  });
})();
