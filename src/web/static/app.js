// The jobs page's own script: plain JavaScript, no build step, loaded with the page's CSP
// nonce. It does three small things htmx attributes cannot do without eval (which the CSP
// forbids):
//  1. Auto refresh (elements with data-auto-refresh, polled by htmx every few seconds) skips
//     its requests while the tab is hidden or while jobs are ticked in the table (a refresh
//     would untick them), and refreshes at once when the tab is shown again.
//  2. The live log: a <pre data-log-stream="URL"> follows the job's log over Server-Sent
//     Events, adding the text as text nodes (never as HTML), and the job's status and
//     progress as they change; when the job has ended, the page reloads once to show it.
//  3. A "select all" box for the jobs table.
"use strict";
(function () {
  function hasTicks() {
    return document.querySelector("input[name=ref]:checked") !== null;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-auto-refresh")) return;
    if (document.visibilityState !== "visible" || hasTicks()) event.preventDefault();
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible" || typeof htmx === "undefined") return;
    document.querySelectorAll("[data-auto-refresh]").forEach(function (elt) {
      htmx.trigger(elt, "refresh-now");
    });
  });

  function followLog(pre) {
    var source = new EventSource(pre.getAttribute("data-log-stream"));
    var status = document.querySelector("[data-live=status]");
    var progress = document.querySelector("[data-live=progress]");
    source.addEventListener("log", function (event) {
      var atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.appendChild(document.createTextNode(event.data));
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    });
    source.addEventListener("state", function (event) {
      var state = JSON.parse(event.data);
      if (status) {
        status.textContent = state.status;
        status.className = "status status-" + state.status;
      }
      if (progress && typeof state.progress === "number") progress.value = state.progress;
    });
    source.addEventListener("end", function () {
      source.close();
      window.location.reload();
    });
  }

  function start() {
    document.querySelectorAll("pre[data-log-stream]").forEach(followLog);
    document.querySelectorAll("input[data-select-all]").forEach(function (box) {
      box.addEventListener("change", function () {
        var form = box.form;
        if (!form) return;
        form.querySelectorAll("input[name=ref]").forEach(function (each) {
          each.checked = box.checked;
        });
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
