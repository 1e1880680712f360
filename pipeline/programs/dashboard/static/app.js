// betpipe dashboard: refresh the panels from /live (server-rendered, escaped HTML), switch
// sessions with the token, size the drill app's ROI bars. No inline script anywhere (CSP).
(function () {
  "use strict";
  var live = document.getElementById("live");
  var status = document.getElementById("toggle-status");
  var dot = document.getElementById("refresh-dot");
  var stamp = document.getElementById("refreshed");

  function say(text, ok) {
    if (!status) return;
    status.textContent = text;
    status.className = "flash " + (ok ? "ok" : "bad");
  }

  function refresh() {
    return fetch("/live", {cache: "no-store"}).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.text();
    }).then(function (html) {
      live.innerHTML = html;  // rendered and escaped by the server's templates
      if (dot) dot.className = "dot ok";
      if (stamp) stamp.textContent = "live · " + new Date().toLocaleTimeString();
    }).catch(function (e) {
      if (dot) dot.className = "dot bad";
      if (stamp) stamp.textContent = "dashboard unreachable (" + e.message + ")";
    });
  }

  if (live) {
    var every = parseInt(document.body.getAttribute("data-refresh-ms"), 10) || 2000;
    setInterval(refresh, every);
    var form = document.getElementById("token-form");
    if (form) form.addEventListener("submit", function (e) { e.preventDefault(); });
    document.addEventListener("click", function (e) {
      var b = e.target.closest ? e.target.closest("button[data-toggle]") : null;
      if (!b) return;
      var session = b.getAttribute("data-session");
      var enabled = b.getAttribute("data-enabled") === "true";
      var token = (document.getElementById("token") || {}).value || "";
      b.disabled = true;
      fetch("/api/sessions/toggle", {
        method: "POST", cache: "no-store",
        headers: {"Content-Type": "application/json", "X-Betpipe-Token": token},
        body: JSON.stringify({session: session, enabled: enabled})
      }).then(function (r) {
        return r.json().then(function (doc) { return {ok: r.ok, status: r.status, doc: doc}; });
      }).then(function (res) {
        if (res.ok) {
          say("session " + session + " " + (enabled ? "switched on" : "switched off") +
              (res.doc.changed ? "" : " (it already was)"), true);
        } else {
          say("refused (" + res.status + "): " + (res.doc.error || "unknown error"), false);
        }
        return refresh();
      }).catch(function (err) {
        say("failed: " + err.message, false);
      }).then(function () { b.disabled = false; });
    });
  }

  var bars = document.querySelectorAll(".bar[data-w]");
  for (var i = 0; i < bars.length; i++) {
    bars[i].style.width = bars[i].getAttribute("data-w") + "px";
  }
})();
