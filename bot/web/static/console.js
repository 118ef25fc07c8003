// The merchant console's few scripts. Every page works without them; they add the composer's live recipient
// count, the broadcast's moving progress bar, and keep a form from being sent twice by a double click.
(function () {
  "use strict";

  var JSON_ONLY = { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" };

  function debounce(action, milliseconds) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(action, milliseconds);
    };
  }

  function signedOut(response) {
    if (response.status === 401) {
      window.location.reload(); // the server sends the page to the sign-in form
      throw new Error("signed out");
    }
    return response;
  }

  // ---- broadcast composer: how many customers the audience reaches, as it is picked ----
  function followAudience(form) {
    var count = document.getElementById("recipient-count");
    var problem = document.getElementById("audience-error");
    var asked = 0;

    function audienceQuery() {
      var query = new URLSearchParams();
      form.querySelectorAll('input[name="sku"]:checked').forEach(function (box) {
        query.append("sku", box.value);
      });
      query.set("category", form.elements.category.value);
      query.set("orders", form.elements.orders.value);
      return query;
    }

    function recount() {
      var mine = ++asked;
      count.textContent = "…";
      count.dataset.state = "counting";
      fetch(form.dataset.recipientsUrl + "?" + audienceQuery().toString(), JSON_ONLY)
        .then(signedOut)
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (mine !== asked) return; // a later question is on its way
          count.textContent = answer.recipients === null ? "–" : String(answer.recipients);
          problem.textContent = answer.error || "";
          count.dataset.state = "counted";
        })
        .catch(function () {
          if (mine === asked) { count.textContent = "?"; count.dataset.state = "failed"; }
        });
    }

    var soon = debounce(recount, 250);
    form.addEventListener("change", soon);
    form.elements.orders.addEventListener("input", soon);
    recount();
  }

  // ---- one broadcast: the bar follows the delivery until nothing is left to send ----
  function followDelivery(box) {
    var bar = document.getElementById("progress-bar");
    var status = document.getElementById("progress-status");

    function draw(progress) {
      var total = progress.recipients || 1;
      var x = 0;
      ["sent", "failed", "blocked"].forEach(function (name) {
        var width = (100 * progress[name]) / total;
        var segment = document.getElementById("progress-" + name);
        segment.setAttribute("x", String(x));
        segment.setAttribute("width", String(width));
        x += width;
        document.getElementById("count-" + name).textContent = String(progress[name]);
      });
      document.getElementById("count-pending").textContent = String(progress.pending);
      var done = progress.sent + progress.failed + progress.blocked;
      bar.setAttribute("aria-valuenow", String(done));
      // The page carries its status lines in its own language, with {done} and {total} to fill in.
      var line = status.dataset[progress.status === "sending" || progress.status === "cancelled" ? progress.status : "done"];
      status.textContent = line.replace("{done}", String(done)).replace("{total}", String(progress.recipients));
      if (progress.status !== "sending" && progress.status !== "cancelled") {
        var stop = document.getElementById("cancel-form");
        if (stop) stop.remove();
      }
      var quiet = document.getElementById("quiet-hours");
      if (progress.held > 0 && progress.held_until) {
        quiet.textContent = quiet.dataset[progress.held === 1 ? "one" : "many"]
          .replace("{n}", String(progress.held)).replace("{time}", progress.held_until.substring(11, 16));
        quiet.hidden = false;
      } else {
        quiet.textContent = "";
        quiet.hidden = true;
      }
      box.dataset.status = progress.status;
    }

    function poll() {
      fetch(box.dataset.progressUrl, JSON_ONLY)
        .then(signedOut)
        .then(function (response) { return response.json(); })
        .then(function (progress) {
          draw(progress);
          if (progress.status === "sending") setTimeout(poll, 1000);
        })
        .catch(function () { setTimeout(poll, 3000); });
    }

    if (box.dataset.status === "sending") setTimeout(poll, 500);
  }

  // ---- any form that changes something: send it once ----
  function sendFormsOnce() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (form.method.toLowerCase() !== "post") return;
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "yes";
      // Disabled after the submit has started: a button disabled before it would leave its name=value out.
      setTimeout(function () {
        form.querySelectorAll("button").forEach(function (button) { button.disabled = true; });
      }, 0);
    });
    // Coming back with the browser's Back button shows the page as it was left: usable again.
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) return;
      document.querySelectorAll("form[data-sent]").forEach(function (form) {
        delete form.dataset.sent;
        form.querySelectorAll("button").forEach(function (button) { button.disabled = false; });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var composer = document.getElementById("composer");
    if (composer) followAudience(composer);
    var broadcast = document.getElementById("broadcast");
    if (broadcast) followDelivery(broadcast);
    sendFormsOnce();
  });
})();
