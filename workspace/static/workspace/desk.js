/* SupportDesk workspace: small enhancements; every page works without them. */
(function () {
  "use strict";
  // Tick every row of the page at once.
  document.addEventListener("change", function (e) {
    if (e.target && e.target.id === "select-all") {
      document.querySelectorAll('#rows input[name="ticket"]').forEach(function (box) {
        box.checked = e.target.checked;
      });
    }
  });

  // Typing in the composer tells the other agents on the ticket (see the presence poll).
  window.sdTyping = false;
  var typingTimer = null;
  document.addEventListener("input", function (e) {
    if (e.target && e.target.closest && e.target.closest("#reply-form")) {
      window.sdTyping = true;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { window.sdTyping = false; }, 5000);
    }
  });

  document.addEventListener("htmx:configRequest", function (e) {
    if (e.detail.elt && e.detail.elt.id === "presence") {
      e.detail.parameters.typing = window.sdTyping ? "1" : "0";
    }
  });

  // Countdowns stay current without reloading the list.
  function span(seconds) {
    var m = Math.floor(Math.abs(seconds) / 60), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), mm = m % 60;
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + (mm < 10 ? "0" : "") + mm + "m";
    return mm + "m";
  }
  var overdueWord = document.documentElement.lang === "ru" ? "просрочено" : "overdue";
  var inWord = document.documentElement.lang === "ru" ? "через" : "in";
  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll("time[data-due]").forEach(function (el) {
      var left = Number(el.dataset.due) - now;
      el.textContent = left < 0 ? span(left) + " " + overdueWord : inWord + " " + span(left);
      el.classList.toggle("overdue", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 3600);
    });
  }
  setInterval(tick, 30000);

  // Notifications: the count, a sound and a browser notification for new ones.
  var pollUrl = document.body && document.body.dataset.pollUrl;
  var latest = null;
  function beep() {
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.frequency.value = 880; gain.gain.value = 0.05;
      osc.connect(gain); gain.connect(ctx.destination);
      osc.start(); osc.stop(ctx.currentTime + 0.15);
    } catch (err) { /* no audio: the badge still shows */ }
  }
  function poll() {
    if (!pollUrl) return;
    fetch(pollUrl + "?after=" + (latest === null ? "0" : latest), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        var badge = document.getElementById("notif-count");
        if (badge) badge.textContent = data.unread ? (data.capped ? data.unread - 1 + "+" : data.unread) : "";
        if (latest !== null && data.items.length) {
          document.body.dataset.lastNotification = data.items[0].text;
          if (data.sound) beep();
          if (data.browser && "Notification" in window && Notification.permission === "granted") {
            data.items.forEach(function (n) { new Notification("SupportDesk", { body: n.text }); });
          }
        }
        latest = data.latest;
      })
      .catch(function () {});
  }
  document.addEventListener("DOMContentLoaded", function () {
    poll();
    setInterval(poll, 10000);
    if ("Notification" in window && Notification.permission === "default") {
      document.addEventListener("click", function ask() {
        Notification.requestPermission();
        document.removeEventListener("click", ask);
      });
    }
  });

  // Keyboard: j/k move through the list, Enter or o opens, r jumps to the answer box.
  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || e.ctrlKey || e.metaKey || e.altKey) return;
    var rows = Array.prototype.slice.call(document.querySelectorAll("#rows tr[data-ticket]"));
    var current = document.querySelector("#rows tr.kb-current");
    var i = rows.indexOf(current);
    if ((e.key === "j" || e.key === "k") && rows.length) {
      if (current) current.classList.remove("kb-current");
      i = e.key === "j" ? Math.min(rows.length - 1, i + 1) : Math.max(0, i - 1);
      rows[i].classList.add("kb-current");
      rows[i].querySelector("a").focus();
      e.preventDefault();
    } else if ((e.key === "o") && current) {
      current.querySelector("a").click();
    } else if (e.key === "r") {
      var body = document.querySelector("#reply-form textarea");
      if (body) { body.focus(); e.preventDefault(); }
    }
  });
})();
