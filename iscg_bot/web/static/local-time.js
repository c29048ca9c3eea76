// Progressive: shows a meeting's time in the viewer's own time zone. Without it the page still gives the
// meeting's zone and UTC. Reads only data-* attributes the server wrote; writes text, never HTML.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone) return;
  var day = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric" });
  var time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  document.querySelectorAll("[data-viewer-zone]").forEach(function (el) { el.textContent = zone; });
  document.querySelectorAll("[data-local-for]").forEach(function (el) {
    var start = new Date(el.getAttribute("data-local-for"));
    var end = new Date(el.getAttribute("data-local-end"));
    if (isNaN(start) || isNaN(end)) return;
    el.textContent = day.format(start) + " " + time.format(start) + "–" + time.format(end);
  });
  document.querySelectorAll(".viewer-time, .viewer-zone").forEach(function (el) { el.hidden = false; });
});
