// The customers' Mini App: signs in with Telegram's initData, draws each item as a timeline, and offers
// cancel, alternatives and a person through the same services as the chat (bot/web/mini_app/api.py).
// Every text from the server is set as text, never as HTML.
"use strict";

(function () {
  const tg = window.Telegram && window.Telegram.WebApp;
  const app = document.getElementById("app");
  const sheet = document.getElementById("sheet");
  const sheetText = document.getElementById("sheet-text");
  const sheetChoices = document.getElementById("sheet-choices");
  const focusLine = Number(new URLSearchParams(location.search).get("line")) || null;
  let words = {};
  let backAction = null;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function haptic(kind) {
    const feedback = tg && tg.HapticFeedback;
    if (!feedback) return;
    try {
      if (kind === "tap") feedback.impactOccurred("light");
      else feedback.notificationOccurred(kind);
    } catch (unsupported) { /* older Telegram versions: no haptics */ }
  }

  function applyTheme() {
    const theme = (tg && tg.themeParams) || {};
    const names = {
      bg_color: "--bg", text_color: "--text", hint_color: "--hint", link_color: "--link",
      button_color: "--button", button_text_color: "--button-text", secondary_bg_color: "--card",
      destructive_text_color: "--danger",
    };
    for (const [key, variable] of Object.entries(names)) {
      if (theme[key]) document.documentElement.style.setProperty(variable, theme[key]);
    }
    document.documentElement.dataset.scheme = (tg && tg.colorScheme) || "light";
  }

  // The back button closes what is open on top of the list; on the list itself Telegram's close is enough.
  function setBack(action) {
    backAction = action;
    if (!tg || !tg.BackButton) return;
    if (action) tg.BackButton.show(); else tg.BackButton.hide();
  }

  function signedIn() {
    return { Authorization: "tma " + ((tg && tg.initData) || "") };
  }

  async function call(method, path) {
    const response = await fetch("/mini-app/api" + path, { method: method, headers: signedIn() });
    let body = {};
    try { body = await response.json(); } catch (notJson) { /* an error page from a proxy */ }
    return { ok: response.ok, status: response.status, body: body };
  }

  function notSignedIn() {
    const user = tg && tg.initDataUnsafe && tg.initDataUnsafe.user;
    const german = user && String(user.language_code || "").startsWith("de");
    app.replaceChildren(el("p", "notice", german
      ? "Bitte öffne diese Seite über den Chat mit unserem Bot in Telegram."
      : "Please open this page from our bot's chat in Telegram."));
  }

  function closeButton() {
    const button = el("button", "button", words.to_chat);
    button.type = "button";
    button.addEventListener("click", () => { haptic("tap"); if (tg) tg.close(); });
    return button;
  }

  function queueDrawing(queue) {
    const figure = el("div", "queue");
    figure.setAttribute("role", "img");
    figure.setAttribute("aria-label", words.queue + ": " + queue.position + " / " + queue.size);
    // At most 20 places are drawn; a longer line shows its start, the customer's place and its end.
    const shown = queue.size <= 20 ? Array.from({ length: queue.size }, (_, i) => i + 1)
      : [1, 2, 3, null, queue.position - 1, queue.position, queue.position + 1, null, queue.size]
        .filter((n, i, all) => n === null || (n >= 1 && n <= queue.size && all.indexOf(n) === i));
    for (const place of shown) {
      if (place === null) { figure.append(el("span", "gap", "…")); continue; }
      const dot = el("span", place === queue.position ? "place you" : place < queue.position ? "place ahead" : "place behind");
      if (place === queue.position) dot.textContent = String(place);
      figure.append(dot);
    }
    return figure;
  }

  function stepNode(step) {
    const node = el("li", "step " + step.state + " " + step.kind);
    node.dataset.kind = step.kind;
    node.append(el("span", "dot"));
    const body = el("div", "step-body");
    const head = el("div", "step-title", step.title);
    if (step.kind === "eta" && step.date) {
      head.append(" ", el("strong", "date", step.date));
      head.append(" ", el("span", "badge " + (step.confirmed ? "confirmed" : "estimated"), step.badge));
    }
    body.append(head, el("p", "detail", step.detail));
    if (step.queue && step.queue.size) body.append(queueDrawing(step.queue));
    if (step.tracking_url) {
      const link = el("a", "link", words.track);
      link.href = step.tracking_url;
      link.addEventListener("click", (event) => {
        if (tg && tg.openLink) { event.preventDefault(); tg.openLink(step.tracking_url); }
      });
      body.append(link);
    }
    node.append(body);
    return node;
  }

  function itemCard(item, waiting) {
    const card = el("article", "item" + (waiting ? " waiting" : " resolved"));
    card.id = "line-" + item.line_id;
    card.append(el("h2", "item-title", item.title), el("p", "item-status", item.status));
    const steps = el("ol", "timeline");
    for (const step of item.steps) steps.append(stepNode(step));
    card.append(steps);
    if (item.changes.length) {
      const changes = el("section", "changes");
      changes.append(el("h3", "", words.changes));
      const list = el("ul", "");
      for (const change of item.changes) {
        const entry = el("li", change.later ? "later" : "sooner");
        entry.append(el("time", "", change.when), " ", change.text);
        list.append(entry);
      }
      changes.append(list);
      card.append(changes);
    }
    if (waiting) {
      const actions = el("div", "actions");
      actions.append(
        action(words.cancel, "secondary danger", () => askCancel(item.line_id)),
        action(words.alternatives, "secondary", () => showAlternatives(item.line_id)),
        action(words.person, "secondary", () => askPerson(item.line_id)),
      );
      card.append(actions);
    }
    return card;
  }

  function action(label, className, run) {
    const button = el("button", "button " + className, label);
    button.type = "button";
    button.addEventListener("click", () => { haptic("tap"); run(); });
    return button;
  }

  // When the first content stood on screen, for the browser tests' first-render budget.
  function rendered() {
    if (!document.body.dataset.renderedAt) document.body.dataset.renderedAt = String(Math.round(performance.now()));
  }

  function draw(body) {
    words = body.words || {};
    document.documentElement.lang = body.language || "en";
    document.title = words.title || document.title;
    const page = [el("h1", "", words.title)];
    if (!body.linked) {
      page.push(el("p", "notice", body.how_to_link), closeButton());
      app.replaceChildren(...page);
      rendered();
      return;
    }
    if (!body.waiting.length) page.push(el("p", "notice", words.nothing));
    else page.push(el("h2", "section", words.waiting), ...body.waiting.map((item) => itemCard(item, true)));
    if (body.resolved.length) page.push(el("h2", "section", words.resolved), ...body.resolved.map((item) => itemCard(item, false)));
    app.replaceChildren(...page);
    rendered();
    const focused = focusLine && document.getElementById("line-" + focusLine);
    if (focused) { focused.classList.add("focused"); focused.scrollIntoView({ block: "start" }); }
  }

  async function load() {
    const answer = await call("GET", "/items");
    if (answer.status === 401) { notSignedIn(); return; }
    if (!answer.ok) { app.replaceChildren(el("p", "notice", (answer.body.error || {}).message || "…")); return; }
    draw(answer.body);
  }

  function openSheet(text, choices) {
    sheetText.textContent = text;
    sheetChoices.replaceChildren(...choices);
    sheet.hidden = false;
    setBack(closeSheet);
  }

  function closeSheet() {
    sheet.hidden = true;
    setBack(null);
  }

  function refused(answer) {
    haptic("error");
    if (answer.status === 401) { closeSheet(); notSignedIn(); return; }
    openSheet((answer.body.error || {}).message || words.failed, [action(words.back, "", () => { closeSheet(); load(); })]);
  }

  function done(answer) {
    if (!answer.ok) { refused(answer); return; }
    haptic("success");
    openSheet(answer.body.done, [action("OK", "", () => { closeSheet(); load(); })]);
  }

  async function askCancel(lineId) {
    const answer = await call("GET", "/lines/" + lineId + "/cancel");
    if (!answer.ok) { refused(answer); return; }
    openSheet(answer.body.question, [
      action(words.yes_cancel, "danger", async () => done(await call("POST", "/lines/" + lineId + "/cancel"))),
      action(words.keep, "secondary", closeSheet),
    ]);
  }

  async function showAlternatives(lineId) {
    const answer = await call("GET", "/lines/" + lineId + "/alternatives");
    if (!answer.ok) { refused(answer); return; }
    const choices = answer.body.alternatives.map((offer) =>
      action(offer.name + " — " + offer.price + " (" + offer.note + ")", "secondary offer", () => askSwap(lineId, offer.product_id)));
    if (!choices.length) choices.push(action(words.person, "secondary", () => askPerson(lineId)));
    choices.push(action(words.back, "secondary", closeSheet));
    openSheet(answer.body.intro, choices);
  }

  async function askSwap(lineId, productId) {
    const path = "/lines/" + lineId + "/alternatives/" + productId;
    const answer = await call("GET", path);
    if (!answer.ok) { refused(answer); return; }
    openSheet(answer.body.question, [
      action(words.yes_swap, "", async () => done(await call("POST", path))),
      action(words.back, "secondary", () => showAlternatives(lineId)),
    ]);
  }

  async function askPerson(lineId) {
    const answer = await call("POST", "/lines/" + lineId + "/person");
    if (!answer.ok) { refused(answer); return; }
    haptic("success");
    openSheet(answer.body.done, [closeButton(), action(words.back, "secondary", closeSheet)]);
  }

  applyTheme();
  if (tg) {
    tg.onEvent("themeChanged", applyTheme);
    if (tg.BackButton) tg.BackButton.onClick(() => { if (backAction) backAction(); });
    tg.ready();
    tg.expand();
  }
  if (!tg || !tg.initData) notSignedIn(); else load().catch(() => app.replaceChildren(el("p", "notice", words.failed || "…")));
})();
