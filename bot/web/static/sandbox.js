"use strict";
// The sandbox page: three chats with the bot (a customer's, the support group's topics, the merchant's),
// kept current by long-polling the sandbox server's transcripts. Whatever a person does here becomes a
// Telegram update that the bot fetches over the Bot API, exactly as from Telegram.

(() => {
  const LONG_POLL_SECONDS = 25;
  const state = {
    cast: null,
    customer: null, // the persona acting in the customer chat
    topic: null, // the support group's thread shown; null: General
    version: -1,
    chats: {}, // chat id -> the sandbox's last answer for it
    answersSeen: {}, // chat id -> callback answers already shown
    editsSeen: {}, // "chat:message" -> edit count already shown
    topicCounts: null, // thread id -> messages the agent has seen in it; null until the group is first shown
    knownTopics: null, // the topics' thread ids when the group was last shown; null until then
    clockSkew: 0,
    poll: null,
  };

  // ---- talking to the server -------------------------------------------------------------------

  async function request(method, path, body, signal) {
    const options = { method, signal, headers: {} };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = data.error;
      throw new Error((error && error.message) || error || response.statusText);
    }
    return data;
  }

  function act(userId, action, body) {
    return request("POST", `/sandbox-api/users/${userId}/${action}`, body).catch(showError);
  }

  function readChat(chatId, wait, signal) {
    const query = wait ? `?after_version=${state.version}&wait=${wait}` : "";
    return request("GET", `/sandbox-api/chats/${chatId}${query}`, undefined, signal);
  }

  // ---- the three chats ----------------------------------------------------------------------------

  const panes = {
    customer: {
      chatId: () => state.customer.user_id,
      actor: () => state.customer,
      commands: () => state.customer.commands,
      send: (text) => act(state.customer.user_id, "text", { text }),
    },
    support: {
      chatId: () => state.cast.support_group.id,
      actor: () => state.cast.agent,
      commands: () => state.cast.support_group.commands,
      send: (text) => act(state.cast.agent.user_id, "text", {
        text, chat_id: state.cast.support_group.id, thread_id: state.topic,
      }),
    },
    merchant: {
      chatId: () => state.cast.merchant.user_id,
      actor: () => state.cast.merchant,
      commands: () => state.cast.merchant.commands,
      send: (text) => act(state.cast.merchant.user_id, "text", { text }),
    },
  };

  async function pollForever() {
    for (;;) {
      const controller = new AbortController();
      state.poll = controller;
      try {
        const customer = await readChat(panes.customer.chatId(), LONG_POLL_SECONDS, controller.signal);
        const [group, merchant] = await Promise.all([
          readChat(panes.support.chatId(), 0, controller.signal),
          readChat(panes.merchant.chatId(), 0, controller.signal),
        ]);
        if (controller.signal.aborted) continue;
        // The long poll's version: a change after it, even one the other two reads saw, wakes the next poll.
        state.version = customer.version;
        showPrivateChat("customer", customer);
        showSupportGroup(group);
        showPrivateChat("merchant", merchant);
      } catch (problem) {
        if (problem.name === "AbortError") continue;
        showError(new Error("The demo is not answering; is it still running?"));
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
  }

  function refreshNow() {
    state.version = -1;
    if (state.poll) state.poll.abort();
  }

  function showPrivateChat(name, data) {
    state.chats[data.chat.id] = data;
    const pane = document.getElementById(`${name}-pane`);
    const messages = data.messages;
    const changed = renderMessages(pane.querySelector(".messages"), messages, panes[name].actor(), false);
    renderReplyKeyboard(pane.querySelector(".reply-keyboard"), data.reply_keyboard, panes[name].actor());
    miniApp.menuButton(pane, data.menu_button, panes[name].actor());
    const start = pane.querySelector(".start");
    if (start) start.hidden = messages.length > 0;
    toastCallbackAnswers(data);
    if (changed) markUnread(name);
  }

  function showSupportGroup(data) {
    state.chats[data.chat.id] = data;
    const pane = document.getElementById("support-pane");
    const topics = data.topics;
    openNewTopic(topics);
    if (state.topic !== null && !topics.some((topic) => topic.message_thread_id === state.topic)) state.topic = null;
    const inThread = (message) => (message.message.message_thread_id || null) === state.topic;
    renderTopics(topics, data.messages);
    const changed = renderMessages(pane.querySelector(".messages"), data.messages.filter(inThread), state.cast.agent, true);
    pane.querySelector("input[name=text]").placeholder = state.topic === null ? "Message the group" : "Message the topic";
    toastCallbackAnswers(data);
    if (changed) markUnread("support");
  }

  // A ticket's topic appearing while the page is open is opened, as the agent would open it to answer.
  function openNewTopic(topics) {
    const ids = topics.map((topic) => topic.message_thread_id);
    const fresh = state.knownTopics === null ? [] : ids.filter((id) => !state.knownTopics.has(id));
    state.knownTopics = new Set(ids);
    if (fresh.length) state.topic = fresh[fresh.length - 1];
  }

  // Unread: messages from others that arrived while the page was open and the agent has not looked at;
  // what was there when the page opened counts as read, and a closed topic has nothing left to answer.
  function unreadCounts(messages) {
    const counts = {};
    for (const entry of messages) {
      const message = entry.message;
      const thread = message.message_thread_id;
      if (thread && !serviceText(message) && (message.from || {}).id !== state.cast.agent.user_id) {
        counts[thread] = (counts[thread] || 0) + 1;
      }
    }
    return counts;
  }

  function renderTopics(topics, messages) {
    const box = document.getElementById("topics");
    const counts = unreadCounts(messages);
    if (state.topicCounts === null) state.topicCounts = { ...counts };
    if (state.topic !== null) state.topicCounts[state.topic] = counts[state.topic] || 0;
    if (unchanged(box, topics, counts, state.topic, state.topicCounts)) return;
    const chips = [{ message_thread_id: null, name: "General" }, ...topics];
    box.replaceChildren(...chips.map((topic) => {
      const id = topic.message_thread_id;
      const chip = element("button", { class: "topic", type: "button", role: "tab" }, topic.name);
      chip.dataset.thread = id === null ? "general" : String(id);
      chip.setAttribute("aria-selected", String(id === state.topic));
      const unseen = id === null || topic.closed ? 0 : (counts[id] || 0) - (state.topicCounts[id] || 0);
      if (unseen > 0) chip.append(element("span", { class: "badge" }, String(unseen)));
      chip.addEventListener("click", () => {
        state.topic = id;
        showSupportGroup(state.chats[state.cast.support_group.id]);
      });
      return chip;
    }));
  }

  // ---- messages -------------------------------------------------------------------------------------

  // The bot's every request to the sandbox counts as a change; what a chat shows is redrawn only when it
  // differs, so a button is never replaced under the pointer while someone is pressing it.
  function unchanged(node, ...content) {
    const signature = JSON.stringify(content);
    if (node.shown === signature) return true;
    node.shown = signature;
    return false;
  }

  function renderMessages(list, messages, actor, showSenders) {
    if (unchanged(list, actor.user_id, messages)) return false;
    const before = list.dataset.signature || "";
    const signature = messages.map((m) => `${m.message_id}.${m.edit_count}`).join(",");
    list.replaceChildren(...messages.map((message) => renderMessage(message, actor, showSenders)));
    list.dataset.signature = signature;
    list.scrollTop = list.scrollHeight;
    return before !== signature && before !== "";
  }

  function renderMessage(entry, actor, showSenders) {
    const message = entry.message;
    const sender = message.from || {};
    const mine = sender.id === actor.user_id;
    const item = element("li", { class: `message ${mine ? "out" : "in"}` });
    item.dataset.messageId = String(entry.message_id);
    item.dataset.from = entry.from_bot ? "bot" : mine ? "me" : "other";
    const service = serviceText(message);
    if (service) {
      item.className = "message service";
      item.textContent = service;
      return item;
    }
    const bubble = element("div", { class: "bubble" });
    if (showSenders && !mine) bubble.append(element("div", { class: "sender" }, fullName(sender)));
    const origin = message.forward_origin;
    if (origin) {
      const forwarded = element("div", { class: "forwarded" }, `${word(actor, "forwarded")} `);
      forwarded.append(element("strong", {}, originName(origin)));
      bubble.append(forwarded);
    }
    const quoted = message.reply_to_message;
    if (quoted && !quoted.forum_topic_created) {
      bubble.append(element("div", { class: "quote" }, `${fullName(quoted.from || {})}: ${preview(quoted)}`));
    }
    bubble.append(messageBody(message, actor));
    const key = `${entry.chat_id}:${entry.message_id}`;
    const meta = element("div", { class: "meta" });
    if (entry.edit_count > 0) {
      meta.append(element("span", { class: "edited" }, `${word(actor, "edited")} `));
      if (state.editsSeen[key] !== undefined && state.editsSeen[key] < entry.edit_count) item.classList.add("just-edited");
    }
    state.editsSeen[key] = entry.edit_count;
    meta.append(clockTime(message.edit_date || message.date));
    bubble.append(meta);
    item.append(bubble);
    const keyboard = inlineKeyboard(entry, actor);
    if (keyboard) item.append(keyboard);
    return item;
  }

  function messageBody(message, actor) {
    const body = element("div", { class: "text" });
    const text = message.text ?? message.caption;
    if (message.photo) body.append(element("div", { class: "media" }, "🖼 Photo"));
    if (message.document) body.append(element("div", { class: "media" }, `📄 ${message.document.file_name || "Document"}`));
    if (message.voice) body.append(element("div", { class: "media" }, `🎤 Voice message (${message.voice.duration} s)`));
    if (message.sticker) body.append(element("div", { class: "sticker" }, message.sticker.emoji || "🖼"));
    if (message.contact) body.append(element("div", { class: "media" }, `📱 ${message.contact.phone_number}`));
    if (text !== undefined && text !== null) {
      const entities = (message.entities || message.caption_entities || []).slice()
        .sort((a, b) => a.offset - b.offset || b.length - a.length);
      const rich = element("div", { class: "rich" });
      appendRich(rich, text, entities, 0, text.length, actor);
      body.append(rich);
    }
    return body;
  }

  // Entities are nested ranges in UTF-16 code units, which is how JavaScript strings count, too.
  function appendRich(parent, text, entities, start, end, actor) {
    let position = start;
    let index = 0;
    while (index < entities.length) {
      const entity = entities[index];
      const entityEnd = Math.min(entity.offset + entity.length, end);
      const inner = [];
      let next = index + 1;
      while (next < entities.length && entities[next].offset < entityEnd) inner.push(entities[next++]);
      if (entity.offset > position) parent.append(text.slice(position, entity.offset));
      const node = entityElement(entity, text.slice(entity.offset, entityEnd), actor);
      appendRich(node, text, inner, Math.max(entity.offset, position), entityEnd, actor);
      parent.append(node);
      position = Math.max(position, entityEnd);
      index = next;
    }
    if (position < end) parent.append(text.slice(position, end));
  }

  const ENTITY_TAGS = {
    bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", pre: "pre",
    blockquote: "blockquote", expandable_blockquote: "blockquote",
  };

  function entityElement(entity, covered, actor) {
    if (entity.type === "text_link" || entity.type === "url") return link(entity.url || covered, actor);
    if (entity.type === "email") return link(`mailto:${covered}`, actor);
    if (entity.type === "bot_command") {
      const command = element("a", { href: "#", class: "command" });
      command.addEventListener("click", (event) => {
        event.preventDefault();
        sendAs(actor, covered.split("@")[0]);
      });
      return command;
    }
    if (entity.type === "spoiler") return element("span", { class: "spoiler" });
    return element(ENTITY_TAGS[entity.type] || "span", {});
  }

  // A t.me link to the bot with ?start= opens the chat with it in Telegram and sends /start with the payload.
  function link(url, actor) {
    const anchor = element("a", { href: safeUrl(url), target: "_blank", rel: "noopener noreferrer" });
    const start = startPayload(url);
    if (start !== null) {
      anchor.addEventListener("click", (event) => {
        event.preventDefault();
        sendAs(actor, start ? `/start ${start}` : "/start");
      });
    }
    return anchor;
  }

  function startPayload(url) {
    try {
      const parsed = new URL(url.includes("://") ? url : `https://${url}`);
      const bot = state.cast.bot.username.toLowerCase();
      if (parsed.hostname !== "t.me" || parsed.pathname.replace(/^\//, "").toLowerCase() !== bot) return null;
      return parsed.searchParams.get("start") || "";
    } catch {
      return null;
    }
  }

  function safeUrl(url) {
    return /^(https?:|mailto:|tg:)/i.test(url) ? url : `https://${url}`;
  }

  function inlineKeyboard(entry, actor) {
    const rows = (entry.message.reply_markup || {}).inline_keyboard;
    if (!rows || !rows.length) return null;
    const box = element("div", { class: "inline-keyboard" });
    for (const row of rows) {
      const line = element("div", { class: "row" });
      for (const button of row) {
        if (button.url) {
          const anchor = link(button.url, actor);
          anchor.className = "inline-button";
          anchor.textContent = `${button.text} ↗`;
          line.append(anchor);
          continue;
        }
        if (button.web_app) {
          const opener = element("button", { type: "button", class: "inline-button web-app" }, `${button.text} ⧉`);
          opener.addEventListener("click", () => miniApp.open(actor, button.web_app.url));
          line.append(opener);
          continue;
        }
        const pressable = element("button", { type: "button", class: "inline-button" }, button.text);
        pressable.addEventListener("click", () => act(actor.user_id, "button", {
          chat_id: entry.chat_id, message_id: entry.message_id, callback_data: button.callback_data,
        }));
        line.append(pressable);
      }
      box.append(line);
    }
    return box;
  }

  function renderReplyKeyboard(box, keyboard, actor) {
    if (unchanged(box, actor.user_id, keyboard)) return;
    const rows = keyboard ? keyboard.keyboard || [] : [];
    box.replaceChildren(...rows.map((row) => {
      const line = element("div", { class: "row" });
      for (const raw of row) {
        const button = typeof raw === "string" ? { text: raw } : raw;
        const pressable = element("button", { type: "button", class: "keyboard-button" }, button.text);
        pressable.addEventListener("click", () => {
          // Telegram shares the user's own number when they press a contact button.
          if (button.request_contact) act(actor.user_id, "contact", { phone: actor.phone });
          else act(actor.user_id, "keyboard-button", { label: button.text });
        });
        line.append(pressable);
      }
      return line;
    }));
  }

  function serviceText(message) {
    if (message.forum_topic_created) return `Topic “${message.forum_topic_created.name}” created`;
    if (message.forum_topic_edited) return `Topic renamed to “${message.forum_topic_edited.name || "…"}”`;
    if (message.forum_topic_closed) return "Topic closed";
    if (message.forum_topic_reopened) return "Topic reopened";
    const content = ["text", "caption", "photo", "document", "sticker", "voice", "contact", "audio", "video", "animation", "location"];
    return content.some((key) => key in message) ? null : "Service message";
  }

  function preview(message) {
    const text = message.text || message.caption || (message.photo ? "Photo" : "…");
    return text.length > 80 ? `${text.slice(0, 80)}…` : text;
  }

  // The few words Telegram's own app shows around a message, in the language of the person looking at it.
  const APP_WORDS = {
    en: { edited: "edited", forwarded: "Forwarded from" },
    de: { edited: "bearbeitet", forwarded: "Weitergeleitet von" },
  };

  function word(actor, key) {
    const language = (actor.language || "en").slice(0, 2);
    return (APP_WORDS[language] || APP_WORDS.en)[key];
  }

  // Whom a forward names: the person (also when they hide their account), the chat or the channel.
  function originName(origin) {
    if (origin.type === "user") return fullName(origin.sender_user || {});
    if (origin.type === "hidden_user") return origin.sender_user_name || "Someone";
    return (origin.sender_chat || origin.chat || {}).title || "Someone";
  }

  function fullName(user) {
    if (state.cast && user.id === state.cast.bot.id) return state.cast.bot.first_name;
    return [user.first_name, user.last_name].filter(Boolean).join(" ") || "Someone";
  }

  // ---- toasts, menus, the clock ------------------------------------------------------------------------

  function toastCallbackAnswers(data) {
    const chatId = data.chat.id;
    const answers = data.callback_answers || [];
    const seen = state.answersSeen[chatId];
    state.answersSeen[chatId] = answers.length;
    if (seen === undefined) return;
    for (const answer of answers.slice(seen)) if (answer.text) toast(answer.text, answer.show_alert);
  }

  let toastTimer = null;
  function toast(text, sticky) {
    const box = document.getElementById("toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, sticky ? 8000 : 4000);
  }

  function showError(problem) {
    toast(`⚠ ${problem.message}`, true);
  }

  function sendAs(actor, text) {
    const pane = Object.values(panes).find((candidate) => candidate.actor() === actor);
    return pane ? pane.send(text) : act(actor.user_id, "text", { text });
  }

  function markUnread(name) {
    const tab = document.querySelector(`.tab[data-pane=${name}]`);
    if (tab.getAttribute("aria-selected") !== "true") tab.classList.add("unread");
  }

  function showPane(name) {
    for (const tab of document.querySelectorAll(".tab")) {
      const chosen = tab.dataset.pane === name;
      tab.setAttribute("aria-selected", String(chosen));
      if (chosen) tab.classList.remove("unread");
    }
    for (const pane of document.querySelectorAll(".pane")) pane.classList.toggle("active", pane.dataset.pane === name);
  }

  function clockTime(seconds) {
    const time = element("time", {});
    if (!seconds) return time;
    time.textContent = new Date(seconds * 1000).toLocaleTimeString("en-GB", {
      hour: "2-digit", minute: "2-digit", timeZone: state.cast.shop.timezone,
    });
    return time;
  }

  function setClock(clock) {
    state.clockSkew = Date.parse(clock.now) - Date.now();
    tickClock();
  }

  function tickClock() {
    const now = new Date(Date.now() + state.clockSkew);
    document.getElementById("demo-now").textContent = now.toLocaleString("en-GB", {
      weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
      timeZone: state.cast.shop.timezone,
    });
  }

  async function nextDay(button) {
    button.disabled = true;
    try {
      const answer = await request("POST", "/sandbox/api/next-day");
      setClock(answer.clock);
      toast("A day later: the daily jobs ran (every ETA recomputed, delay notices sent where due).");
    } catch (problem) {
      showError(problem);
    } finally {
      button.disabled = false;
    }
  }

  // The console in a new tab, signed in through a fresh one-time link. The tab is opened before asking for
  // the link, while the click still counts as the person's, so no pop-up blocker stops it.
  async function openConsole() {
    const tab = window.open("about:blank", "_blank");
    try {
      const answer = await request("POST", "/sandbox/api/console-link", {});
      if (tab) tab.location.href = answer.url;
      else window.location.href = answer.url;
    } catch (problem) {
      if (tab) tab.close();
      showError(problem);
    }
  }

  function toggleMenu(pane, name) {
    const menu = pane.querySelector(".command-menu");
    if (!menu.hidden) {
      menu.hidden = true;
      return;
    }
    const commands = panes[name].commands() || [];
    menu.replaceChildren(...(commands.length ? commands : [{ command: "start", description: "" }]).map((command) => {
      const item = element("li", {});
      const choice = element("button", { type: "button" });
      choice.append(element("span", { class: "command" }, `/${command.command}`), ` ${command.description}`);
      choice.addEventListener("click", () => {
        menu.hidden = true;
        panes[name].send(`/${command.command}`);
      });
      item.append(choice);
      return item;
    }));
    menu.hidden = false;
  }

  // ---- Mini Apps ---------------------------------------------------------------------------------------------
  // A web_app button (or a web_app menu button) opens its page in a phone-sized pane, as a Telegram client does:
  // the sandbox's Telegram signs the initData into the address's fragment, and the page's telegram-web-app.js
  // talks to this pane with Telegram's own postMessage events.

  const miniApp = (() => {
    let pane = null;
    let opened = null; // {actor, url, scheme}

    function build() {
      pane = element("aside", { class: "mini-app-pane", id: "mini-app-pane", "aria-label": "Mini App", hidden: "" });
      const head = element("div", { class: "mini-app-head" });
      const back = element("button", { type: "button", class: "mini-app-back", hidden: "" }, "‹ Back");
      const title = element("strong", { class: "mini-app-title" }, state.cast.bot.first_name);
      const theme = element("button", { type: "button", class: "mini-app-theme", title: "Switch between Telegram's light and dark theme" }, "☾");
      const close = element("button", { type: "button", class: "mini-app-close", "aria-label": "Close the Mini App" }, "×");
      head.append(back, title, theme, close);
      const frame = element("iframe", { class: "mini-app-frame", title: "Mini App" });
      pane.append(head, frame);
      document.body.append(pane);
      back.addEventListener("click", () => send("back_button_pressed"));
      close.addEventListener("click", hide);
      theme.addEventListener("click", () => opened && open(opened.actor, opened.url, opened.scheme === "dark" ? "light" : "dark"));
      window.addEventListener("message", received);
    }

    function send(eventType, eventData) {
      const frame = pane.querySelector("iframe");
      if (frame.contentWindow) frame.contentWindow.postMessage(JSON.stringify({ eventType, eventData: eventData || {} }), "*");
    }

    function received(event) {
      if (!pane || event.source !== pane.querySelector("iframe").contentWindow) return;
      let message = {};
      try { message = JSON.parse(event.data); } catch { return; }
      const data = message.eventData || {};
      if (message.eventType === "web_app_ready") pane.dataset.ready = "true";
      else if (message.eventType === "web_app_close") hide();
      else if (message.eventType === "web_app_setup_back_button") pane.querySelector(".mini-app-back").hidden = !data.is_visible;
      else if (message.eventType === "web_app_open_link" && /^https?:/i.test(data.url || "")) window.open(data.url, "_blank", "noopener");
      else if (message.eventType === "web_app_trigger_haptic_feedback") {
        pane.dataset.haptics = String(Number(pane.dataset.haptics || 0) + 1);
        pane.classList.remove("buzz");
        void pane.offsetWidth; // restart the animation
        pane.classList.add("buzz");
      }
    }

    async function open(actor, url, scheme) {
      if (!pane) build();
      const colorScheme = scheme || "light";
      try {
        const answer = await request("POST", `/sandbox-api/users/${actor.user_id}/web-app`, { url, color_scheme: colorScheme });
        opened = { actor, url, scheme: colorScheme };
        pane.dataset.ready = "false";
        pane.dataset.scheme = colorScheme;
        pane.querySelector(".mini-app-back").hidden = true;
        pane.querySelector(".mini-app-theme").textContent = colorScheme === "dark" ? "☀" : "☾";
        // A fresh frame each time, as Telegram opens a fresh web view: a new address differing only in its
        // fragment would otherwise only scroll the old page.
        const frame = element("iframe", { class: "mini-app-frame", title: "Mini App", src: answer.url });
        pane.querySelector("iframe").replaceWith(frame);
        pane.hidden = false;
      } catch (problem) {
        showError(problem);
      }
    }

    function hide() {
      if (!pane) return;
      pane.hidden = true;
      pane.querySelector("iframe").removeAttribute("src");
      opened = null;
    }

    // The chat's menu button: the command list ("/"), or a Mini App the bot set with setChatMenuButton.
    function menuButton(chatPane, button, actor) {
      const composer = chatPane.querySelector(".composer");
      let opener = composer.querySelector(".menu-app");
      if (!button || button.type !== "web_app") {
        if (opener) opener.remove();
        return;
      }
      if (!opener) {
        opener = element("button", { type: "button", class: "menu-app" });
        composer.querySelector(".menu-button").after(opener);
      }
      opener.textContent = button.text;
      opener.onclick = () => open(actor, button.web_app.url);
    }

    return { open, menuButton };
  })();

  // ---- the people -----------------------------------------------------------------------------------------

  function chooseCustomer(key) {
    state.customer = state.cast.customers.find((persona) => persona.key === key);
    document.getElementById("persona").value = key;
    const hint = document.getElementById("persona-hint");
    const persona = state.customer;
    hint.replaceChildren();
    if (persona.order_number) {
      hint.append(
        element("strong", {}, persona.name), ` · order ${persona.order_number} · ${persona.email} · phone ${persona.phone}`,
        element("span", { class: "more" }, ` — ${persona.shows}`),
      );
    } else {
      hint.append(
        element("strong", {}, persona.name), " · a Telegram user the shop does not know yet. Link a demo order: type its",
        " number and e-mail (e.g. ", element("code", {}, "1043 ben@example.com"), ").",
      );
    }
    refreshNow();
  }

  async function addCustomer() {
    try {
      const persona = await request("POST", "/sandbox/api/customers", {});
      state.cast.customers.push(persona);
      document.getElementById("persona").append(element("option", { value: persona.key }, persona.name));
      chooseCustomer(persona.key);
    } catch (problem) {
      showError(problem);
    }
  }

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  async function start() {
    state.cast = await request("GET", "/sandbox/api/cast");
    setClock(state.cast.clock);
    setInterval(tickClock, 15000);
    chooseCustomer(state.cast.customers[0].key);
    document.getElementById("persona").addEventListener("change", (event) => chooseCustomer(event.target.value));
    document.getElementById("new-customer").addEventListener("click", addCustomer);
    document.getElementById("start-button").addEventListener("click", () => panes.customer.send("/start"));
    const hint = document.getElementById("persona-hint");
    hint.addEventListener("click", () => hint.classList.toggle("open"));
    document.getElementById("next-day").addEventListener("click", (event) => nextDay(event.currentTarget));
    document.getElementById("open-console").addEventListener("click", openConsole);
    for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showPane(tab.dataset.pane));
    for (const [name, pane] of Object.entries(panes)) {
      const section = document.getElementById(`${name}-pane`);
      const form = section.querySelector(".composer");
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const input = form.querySelector("input[name=text]");
        const text = input.value.trim();
        if (!text) return;
        input.value = "";
        pane.send(text);
      });
      form.querySelector(".menu-button").addEventListener("click", () => toggleMenu(section, name));
    }
    document.body.dataset.ready = "true";
    pollForever();
  }

  document.addEventListener("DOMContentLoaded", () => start().catch(showError));
})();
