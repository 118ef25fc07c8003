// The sandbox's stand-in for Telegram's https://telegram.org/js/telegram-web-app.js (this machine has no internet).
// Like Telegram's script, it reads the launch parameters from the page's address fragment (tgWebAppData,
// tgWebAppThemeParams, tgWebAppVersion, tgWebAppPlatform) and talks to the Telegram client around the frame
// with the same postMessage events as Telegram's web clients ({eventType, eventData} as a JSON string).
// Only the part of Telegram.WebApp our Mini App uses is here.
"use strict";

(function () {
  const launch = new URLSearchParams(location.hash.slice(1));
  const stored = sessionStorage.getItem("__telegram__launch");
  if (launch.get("tgWebAppData")) sessionStorage.setItem("__telegram__launch", location.hash.slice(1));
  const params = launch.get("tgWebAppData") ? launch : new URLSearchParams(stored || "");
  const initData = params.get("tgWebAppData") || "";
  const handlers = {};

  function parseJson(text, fallback) {
    try { return JSON.parse(text); } catch (notJson) { return fallback; }
  }

  function unsafe() {
    const fields = new URLSearchParams(initData);
    const data = {};
    for (const [key, value] of fields) data[key] = key === "user" ? parseJson(value, null) : value;
    if (data.auth_date) data.auth_date = Number(data.auth_date);
    return data;
  }

  function post(eventType, eventData) {
    if (window.parent === window) return;
    window.parent.postMessage(JSON.stringify({ eventType: eventType, eventData: eventData || {} }), "*");
  }

  function emit(name) {
    for (const handler of handlers[name] || []) handler.call(WebApp);
  }

  let themeParams = parseJson(params.get("tgWebAppThemeParams") || "{}", {});

  function colorScheme() {
    const bg = (themeParams.bg_color || "#ffffff").replace("#", "");
    const [r, g, b] = [0, 2, 4].map((i) => parseInt(bg.slice(i, i + 2), 16));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 120 ? "dark" : "light";
  }

  const backClicks = [];
  const BackButton = {
    isVisible: false,
    show() { this.isVisible = true; post("web_app_setup_back_button", { is_visible: true }); return this; },
    hide() { this.isVisible = false; post("web_app_setup_back_button", { is_visible: false }); return this; },
    onClick(callback) { backClicks.push(callback); return this; },
    offClick(callback) { const at = backClicks.indexOf(callback); if (at >= 0) backClicks.splice(at, 1); return this; },
  };

  function haptic(type, extra) { post("web_app_trigger_haptic_feedback", Object.assign({ type: type }, extra)); }
  const HapticFeedback = {
    impactOccurred(style) { haptic("impact", { impact_style: style }); return this; },
    notificationOccurred(type) { haptic("notification", { notification_type: type }); return this; },
    selectionChanged() { haptic("selection_change"); return this; },
  };

  const WebApp = {
    initData: initData,
    initDataUnsafe: unsafe(),
    version: params.get("tgWebAppVersion") || "6.0",
    platform: params.get("tgWebAppPlatform") || "unknown",
    get themeParams() { return themeParams; },
    get colorScheme() { return colorScheme(); },
    isExpanded: false,
    BackButton: BackButton,
    HapticFeedback: HapticFeedback,
    ready() { post("web_app_ready"); },
    expand() { this.isExpanded = true; post("web_app_expand"); },
    close() { post("web_app_close"); },
    openLink(url) { post("web_app_open_link", { url: url }); },
    onEvent(name, handler) { (handlers[name] = handlers[name] || []).push(handler); },
    offEvent(name, handler) { handlers[name] = (handlers[name] || []).filter((h) => h !== handler); },
    isVersionAtLeast(version) {
      const have = this.version.split(".").map(Number);
      const want = String(version).split(".").map(Number);
      for (let i = 0; i < Math.max(have.length, want.length); i++) {
        if ((have[i] || 0) !== (want[i] || 0)) return (have[i] || 0) > (want[i] || 0);
      }
      return true;
    },
  };

  // What the Telegram client around the frame sends: the back button pressed, the theme changed.
  window.addEventListener("message", (event) => {
    const message = typeof event.data === "string" ? parseJson(event.data, {}) : {};
    if (message.eventType === "back_button_pressed") for (const callback of backClicks.slice()) callback();
    if (message.eventType === "theme_changed") {
      themeParams = (message.eventData || {}).theme_params || themeParams;
      emit("themeChanged");
    }
  });

  window.Telegram = Object.assign(window.Telegram || {}, { WebApp: WebApp });
})();
