// Progressive: shows a meeting's time in the viewer's own time zone. Without it the page still gives the
// meeting's zone and UTC. Reads only data-* attributes the server wrote; writes text, never HTML.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone) return;
  // In the page's language (the server chose it), digits 0-9 as ITU's Arabic texts write them, 24-hour clock.
  var lang = document.documentElement.lang || undefined;
  if (lang && lang.split("-")[0] === "ar") lang += "-u-nu-latn";
  // English: the reader's own variant of it (en-US, en-GB…) when the browser speaks one.
  if (lang === "en") lang = /^en(-|$)/.test(navigator.language || "") ? navigator.language : "en-GB";
  var locales = lang ? [lang, "en-GB"] : undefined;
  var day = new Intl.DateTimeFormat(locales, { weekday: "short", day: "numeric", month: "short", year: "numeric" });
  var time = new Intl.DateTimeFormat(locales, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  document.querySelectorAll("[data-viewer-zone]").forEach(function (el) { el.textContent = zone; });
  document.querySelectorAll("[data-local-for]").forEach(function (el) {
    var start = new Date(el.getAttribute("data-local-for"));
    var end = new Date(el.getAttribute("data-local-end"));
    if (isNaN(start) || isNaN(end)) return;
    // The range isolated left to right (U+2066…U+2069): in Arabic it would read 23:00–22:00 otherwise.
    el.textContent = day.format(start) + " \u2066" + time.format(start) + "–" + time.format(end) + "\u2069";
  });
  document.querySelectorAll(".viewer-time, .viewer-zone").forEach(function (el) { el.hidden = false; });
});
