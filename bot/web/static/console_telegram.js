// The console opened as a Telegram Mini App: sign in with the initData Telegram hands the page, then go on.
// No script from telegram.org is needed (the console works offline): Telegram puts initData in the address's
// fragment as tgWebAppData, and takes events by postMessage (Telegram Web) or TelegramWebviewProxy (the apps).
(function () {
  "use strict";

  function postEvent(type, data) {
    var payload = JSON.stringify(data || {});
    if (window.TelegramWebviewProxy) {
      window.TelegramWebviewProxy.postEvent(type, payload);
    } else if (window.parent !== window) {
      window.parent.postMessage(JSON.stringify({ eventType: type, eventData: data || {} }), "*");
    }
  }

  function initData() {
    var webApp = window.Telegram && window.Telegram.WebApp;
    if (webApp && webApp.initData) {
      return webApp.initData;
    }
    return new URLSearchParams(window.location.hash.slice(1)).get("tgWebAppData") || "";
  }

  var status = document.getElementById("telegram-status");
  postEvent("web_app_ready");
  postEvent("web_app_expand");
  var data = initData();
  if (!data) {
    status.textContent = status.dataset.notInTelegram;
    return;
  }
  fetch("/console/telegram/sign-in", {
    method: "POST",
    credentials: "same-origin",
    cache: "no-store",
    headers: { Accept: "application/json" },
    body: new URLSearchParams({ init_data: data }),
  })
    .then(function (response) {
      return response.json().then(function (body) {
        return { ok: response.ok, body: body };
      });
    })
    .then(function (answer) {
      if (answer.ok) {
        window.location.replace(answer.body.next);
      } else {
        status.textContent = answer.body.message;
      }
    })
    .catch(function () {
      status.textContent = status.dataset.failed;
    });
})();
