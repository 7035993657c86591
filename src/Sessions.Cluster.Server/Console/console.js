// Sessions.Cluster web console: the only script, served by the server itself (the CSP allows 'self' and nothing
// inline). Everything works without it; it only adds comfort: copy buttons beside ids and commands, and times shown in
// the reader's own time zone with how long ago they were (the exact UTC time stays in the title, shown on hover).
(function () {
  "use strict";

  function copyText(el) {
    return el.value !== undefined ? el.value : el.textContent.trim();
  }

  function addCopyButton(el) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy " + (el.getAttribute("aria-label") || el.getAttribute("data-copy") || "text"));
    button.addEventListener("click", function () {
      var text = copyText(el);
      var done = function (ok) {
        button.textContent = ok ? "Copied" : "Select and copy";
        setTimeout(function () { button.textContent = "Copy"; }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
        return;
      }
      // Plain http on another host: the older way, through a selection.
      if (el.select) {
        el.select();
        done(document.execCommand && document.execCommand("copy"));
        return;
      }
      var range = document.createRange();
      range.selectNodeContents(el);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      done(document.execCommand && document.execCommand("copy"));
    });
    el.insertAdjacentElement("afterend", button);
  }

  var units = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];

  function relative(date, now) {
    if (typeof Intl === "undefined" || !Intl.RelativeTimeFormat) {
      return "";
    }
    var seconds = Math.round((date.getTime() - now) / 1000);
    var format = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(seconds) >= units[i][1] || units[i][0] === "second") {
        return format.format(Math.round(seconds / units[i][1]), units[i][0]);
      }
    }
    return "";
  }

  function localTime(el, now) {
    var date = new Date(el.getAttribute("datetime"));
    if (isNaN(date.getTime())) {
      return;
    }
    var withSeconds = el.hasAttribute("data-seconds");
    var shown = date.toLocaleString(undefined, {
      year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: withSeconds ? "2-digit" : undefined
    });
    var ago = el.hasAttribute("data-relative") ? relative(date, now) : "";
    el.title = date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
    el.textContent = ago ? shown + " (" + ago + ")" : shown;
  }

  function start() {
    document.documentElement.classList.add("js");
    var copyables = document.querySelectorAll("[data-copy]");
    for (var i = 0; i < copyables.length; i++) {
      addCopyButton(copyables[i]);
    }
    var now = Date.now();
    var times = document.querySelectorAll("time[datetime]");
    for (var j = 0; j < times.length; j++) {
      localTime(times[j], now);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
