// The demo notification centre: a bell with the unread count, the list (history +
// live), toasts, mark-as-read and the connection state, on top of notifications.js.
import { connect, userFromToken } from "../client/notifications.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
// What the page has shown, for anyone (and the browser tests) to inspect.
const shown = { toasts: [], toastAt: {}, status: null };
window.vividlyDemo = shown;

// --- Credentials ---------------------------------------------------------------
// In `make run` the local server mints development tokens at /demo/dev-token; anywhere
// else the page asks for a JWT and keeps it for this tab only.
let token = null;
let tokenUntil = 0; // performance.now() after which the token is considered expired
let devTokens = false;

// lifetimeMs is how long a token lives by the server's clock (exp − iat): the page
// measures it from when it got the token, so a wrong client clock does not matter.
function lifetimeMs(t) {
  try {
    const c = JSON.parse(atob(t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return typeof c.exp === "number" && typeof c.iat === "number" ? (c.exp - c.iat) * 1000 : Infinity;
  } catch {
    return Infinity;
  }
}

function setToken(t) {
  token = t;
  tokenUntil = performance.now() + lifetimeMs(t);
}

async function devToken() {
  const q = new URLSearchParams();
  if (params.get("user")) q.set("user", params.get("user"));
  if (params.get("token_ttl")) q.set("ttl", params.get("token_ttl"));
  const res = await fetch(`dev-token?${q}`);
  if (!res.ok) throw new Error(`dev-token: HTTP ${res.status}`);
  return (await res.json()).token;
}

async function getToken() {
  if (devTokens && (!token || tokenUntil - performance.now() < 5000)) setToken(await devToken());
  return token;
}

// store is sessionStorage/localStorage when the browser lets the page use it, else a
// stand-in that forgets on reload (blocked storage, some private modes).
function store(name) {
  try {
    const st = window[name];
    st.getItem("probe");
    return {
      get: (k) => st.getItem(k),
      set(k, v) {
        try {
          st.setItem(k, v);
        } catch {
          // full: the caller's in-memory copy serves this page
        }
      },
    };
  } catch {
    const m = new Map();
    return { get: (k) => m.get(k) ?? null, set: (k, v) => m.set(k, v) };
  }
}
const session = store("sessionStorage");

async function signIn() {
  try {
    setToken(await devToken());
    devTokens = true;
    $("publish").hidden = false;
    return;
  } catch {
    // Not the local system: ask for a token.
  }
  token = session.get("vividly-demo-token");
  if (token) return;
  await askToken();
}

function askToken() {
  $("login").hidden = false;
  return new Promise((resolve) => {
    $("login-form").addEventListener(
      "submit",
      (e) => {
        e.preventDefault();
        token = $("jwt").value.trim();
        session.set("vividly-demo-token", token);
        $("login").hidden = true;
        resolve();
      },
      { once: true },
    );
  });
}

// --- Notification centre -------------------------------------------------------
// id → notification in the server's order (history oldest first, then live): ids are
// opaque, so the page never sorts them. Read state is the server's: the client module
// counts it (handle.unread, handle.isUnread) from the history and `event: read`, so
// every tab and device shows the same badge.
let items = new Map();
let handle = null;
const expanded = new Set(); // keys of the groups the student opened
const GROUP_MS = 60000; // notifications of one type within a minute show as one entry
const MUTABLE = [
  ["video_complete", "Video ready"],
  ["video_failed", "Video failed"],
  ["announcement", "Announcements"],
];

const isUnread = (n) => !!handle && handle.isUnread(n.id);
const when = (n) => {
  const t = Date.parse(n.created_at || "");
  return Number.isNaN(t) ? n._arrived || 0 : t;
};

function describe(n) {
  const title = n.title ? `“${n.title}”` : "Your video";
  if (n.type === "video_complete") return `${title} is ready`;
  if (n.type === "video_failed") return `${title} could not be generated${n.error ? `: ${n.error}` : ""}`;
  // Any other type (announcements, grades …): its title and body.
  return [n.title || n.type, n.body].filter(Boolean).join(" — ");
}

// summary says what a group of notifications of one type is: "6 videos are ready".
function summary(type, count) {
  if (type === "video_complete") return `${count} videos are ready`;
  if (type === "video_failed") return `${count} videos could not be generated`;
  return `${count} new ${String(type).replace(/_/g, " ")} notifications`;
}

// groups cuts the list (newest first) into runs of one type within a minute of the
// run's newest notification. Presentation only: each notification keeps its own read state.
function groups(list) {
  const out = [];
  for (const n of list) {
    const g = out[out.length - 1];
    if (g && g.type === n.type && Math.abs(when(g.items[0]) - when(n)) <= GROUP_MS) g.items.push(n);
    else out.push({ type: n.type, items: [n] });
  }
  for (const g of out) g.key = `${g.type}:${g.items[g.items.length - 1].id}`; // its oldest: stable as it grows
  return out;
}

// row fills el (an li) with one notification: the text (a button: mark as read), its
// time and its link.
function row(el, n) {
  el.dataset.id = n.id;
  el.dataset.title = n.title || "";
  el.classList.add(isUnread(n) ? "unread" : "read");
  const btn = document.createElement("button");
  btn.type = "button";
  btn.className = "item";
  btn.textContent = describe(n);
  btn.setAttribute("aria-label", `${isUnread(n) ? "Unread: " : ""}${describe(n)}. Mark as read`);
  btn.addEventListener("click", () => handle && handle.markRead([n.id]).catch(() => {}));
  const time = document.createElement("time");
  time.className = "time";
  time.dateTime = n.created_at || "";
  time.textContent = n.created_at ? new Date(n.created_at).toLocaleString() : "";
  el.append(btn, time);
  const link = n.type === "video_complete" ? n.video_url : n.link;
  if (link && /^https:\/\//.test(link)) {
    const a = document.createElement("a");
    a.href = link;
    a.textContent = n.type === "video_complete" ? "Watch" : "Open";
    a.rel = "noopener";
    el.append(" ", a);
  }
}

// render draws the list. A group is one entry: its first li is the newest notification
// of the group, holding the summary, a toggle and (expanded) the others in a nested
// list, so every li is one notification.
function render() {
  const list = $("list");
  list.replaceChildren();
  const sorted = [...items.values()].reverse(); // newest first
  for (const g of groups(sorted)) {
    const li = document.createElement("li");
    if (g.items.length === 1) {
      row(li, g.items[0]);
      list.append(li);
      continue;
    }
    const [first, ...rest] = g.items;
    const open = expanded.has(g.key);
    const unread = g.items.filter(isUnread).length;
    li.classList.add("group");
    li.dataset.group = g.key;
    const head = document.createElement("div");
    head.className = "group-head";
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "group-toggle";
    const bodyId = `group-${g.key.replace(/[^A-Za-z0-9_-]/g, "_")}`;
    toggle.setAttribute("aria-expanded", String(open));
    toggle.setAttribute("aria-controls", bodyId);
    toggle.textContent = `${summary(g.type, g.items.length)}${unread ? ` (${unread} unread)` : ""}`;
    toggle.addEventListener("click", () => {
      if (expanded.has(g.key)) expanded.delete(g.key);
      else expanded.add(g.key);
      render();
      list.querySelector(`[data-group="${CSS.escape(g.key)}"] .group-toggle`)?.focus();
    });
    head.append(toggle);
    if (unread) {
      const mark = document.createElement("button");
      mark.type = "button";
      mark.className = "group-read";
      mark.textContent = "Mark read";
      mark.setAttribute("aria-label", `Mark ${g.items.length} as read`);
      mark.addEventListener("click", () => handle && handle.markRead(g.items.map((n) => n.id)).catch(() => {}));
      head.append(mark);
    }
    const body = document.createElement("div");
    body.id = bodyId;
    body.className = "group-body";
    body.hidden = !open;
    const firstRow = document.createElement("div");
    firstRow.className = `group-first ${isUnread(first) ? "unread" : "read"}`;
    row(li, first); // the li is the newest notification (data-id, read state)…
    firstRow.append(...li.childNodes); // …its row shown inside the expanded body
    const ul = document.createElement("ul");
    ul.className = "group-items";
    for (const n of rest) {
      const sub = document.createElement("li");
      row(sub, n);
      ul.append(sub);
    }
    body.append(firstRow, ul);
    li.classList.toggle("unread", unread > 0);
    li.classList.toggle("read", unread === 0);
    li.append(head, body);
    list.append(li);
  }
  $("empty").hidden = items.size > 0;
  badge(handle ? handle.unread : 0);
}

function badge(count) {
  const el = $("badge");
  el.hidden = count === 0;
  el.textContent = String(count);
  $("bell").setAttribute("aria-label", count ? `Notifications, ${count} unread` : "Notifications");
}

// toast raises a toast, or grows the toast of a burst: notifications of one type within
// a minute share one ("6 videos are ready").
const bursts = new Map(); // type → {el, text, ids, since, timer}
function toast(n) {
  shown.toasts.push(n.id);
  shown.toastAt[n.id] = Date.now();
  const b = bursts.get(n.type);
  if (b && b.el.isConnected && Date.now() - b.since <= GROUP_MS) {
    b.ids.push(n.id);
    b.el.dataset.ids = b.ids.join(" ");
    b.text.replaceChildren(summary(n.type, b.ids.length));
    const view = document.createElement("button");
    view.type = "button";
    view.className = "link";
    view.textContent = "Show";
    view.addEventListener("click", () => openPanel(true));
    b.text.append(" — ", view);
    clearTimeout(b.timer);
    b.timer = setTimeout(() => b.el.remove(), 10000);
    return;
  }
  const el = document.createElement("div");
  el.className = `toast ${n.type === "video_failed" || n.severity === "error" ? "failed" : ""}`;
  el.dataset.id = n.id;
  el.dataset.ids = n.id;
  const text = document.createElement("span");
  text.textContent = describe(n) + (n.type === "video_complete" ? " — " : "");
  el.append(text);
  if (n.type === "video_complete" && n.video_url) {
    const a = document.createElement("a");
    a.href = n.video_url;
    a.textContent = "Watch now";
    a.rel = "noopener";
    text.append(a);
  }
  const close = document.createElement("button");
  close.type = "button";
  close.textContent = "×";
  close.setAttribute("aria-label", "Dismiss");
  close.addEventListener("click", () => el.remove());
  el.append(close);
  $("toasts").append(el);
  const entry = { el, text, ids: [n.id], since: Date.now(), timer: setTimeout(() => el.remove(), 10000) };
  bursts.set(n.type, entry);
}

const stateText = {
  waiting: "Connecting…",
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
  unauthorized: "Signed out",
  closed: "Disconnected",
};

function openPanel(open) {
  const panel = $("panel");
  panel.hidden = !open;
  $("bell").setAttribute("aria-expanded", String(open));
}

// --- Preferences and Web Push ----------------------------------------------------

function prefsForm() {
  const box = $("mute-types");
  box.replaceChildren();
  for (const [type, label] of MUTABLE) {
    const l = document.createElement("label");
    const c = document.createElement("input");
    c.type = "checkbox";
    c.name = "muted";
    c.value = type;
    l.append(c, ` ${label}`);
    box.append(l);
  }
}

function showPrefs(p) {
  shown.prefs = p;
  for (const c of document.querySelectorAll('#prefs-form input[name="muted"]')) c.checked = p.muted_types.includes(c.value);
  $("pref-push").checked = !!p.push;
}

async function savePrefs() {
  const muted = [...document.querySelectorAll('#prefs-form input[name="muted"]:checked')].map((c) => c.value);
  // Types this page does not list stay muted.
  const other = (shown.prefs?.muted_types || []).filter((t) => !MUTABLE.some(([k]) => k === t));
  try {
    showPrefs(await handle.setPreferences({ muted_types: [...other, ...muted], push: $("pref-push").checked }));
    $("prefs-result").textContent = "Saved.";
  } catch (e) {
    $("prefs-result").textContent = `Not saved: ${e.detail || e.message}`;
  }
}

async function loadPrefs() {
  try {
    showPrefs(await handle.getPreferences());
    $("prefs").hidden = false;
  } catch {
    // older server: no preferences
  }
}

function showPush(st) {
  shown.push = st;
  const sw = $("push-switch");
  sw.setAttribute("aria-checked", String(!!st.subscribed));
  sw.disabled = !st.supported || st.permission === "denied" || st.available === false;
  $("push-note").textContent = st.available === false ? "Web Push is not configured on this server."
    : !st.supported ? "This browser does not support Web Push."
    : st.permission === "denied" ? "Notifications are blocked for this site in the browser's settings."
    : st.subscribed ? "This browser gets a notification when no Vividly tab is open." : "";
}

async function loadPush() {
  const key = await fetch(`${apiBase()}/push/key`).catch(() => null);
  if (!key || !key.ok) return showPush({ supported: true, available: false, subscribed: false });
  try {
    showPush(await handle.pushState({ serviceWorker: "sw.js" }));
  } catch (e) {
    showPush({ supported: false, subscribed: false, error: String(e?.message || e) });
  }
}

async function togglePush() {
  const on = $("push-switch").getAttribute("aria-checked") !== "true";
  try {
    // Called straight from the click: the permission prompt belongs to this gesture.
    const st = on ? await handle.enablePush({ serviceWorker: "sw.js" }) : await handle.disablePush({ serviceWorker: "sw.js" });
    showPush({ supported: true, permission: Notification.permission, subscribed: st.subscribed });
  } catch (e) {
    showPush({ ...(shown.push || {}), error: e.kind || e.name });
    $("push-note").textContent = `Could not ${on ? "turn on" : "turn off"} push: ${e.detail || e.kind || e.message}`;
  }
}

const apiBase = () => `${(params.get("base") || location.origin).replace(/\/+$/, "")}/api/v1/notifications`;

function wire() {
  $("bell").addEventListener("click", () => openPanel($("panel").hidden));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("panel").hidden) {
      openPanel(false);
      $("bell").focus();
    }
  });
  $("mark-all").addEventListener("click", () => handle && handle.markAllRead().catch(() => {}));
  $("publish-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const status = new FormData(e.target).get("status");
    const res = await fetch("publish", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ title: $("title").value, status, token: await getToken() }),
    });
    $("publish-result").textContent = res.ok ? "Published." : `Failed: HTTP ${res.status}`;
  });
  prefsForm();
  $("prefs-form").addEventListener("change", savePrefs);
  $("prefs-form").addEventListener("submit", (e) => {
    e.preventDefault();
    savePrefs();
  });
  $("push-switch").addEventListener("click", togglePush);
}

async function main() {
  wire();
  await signIn();
  const user = userFromToken(token) || "unknown";
  $("user").textContent = user;
  render();
  const show = (list) => {
    items = new Map(list.map((n) => [n.id, n]));
    render();
  };
  handle = window.vividlyDemo.handle = connect({
    baseUrl: params.get("base") || location.origin,
    getToken,
    backoff: { baseMs: Number(params.get("backoff_ms")) || 1000, maxMs: 10000 },
    onHistory: show, // also after a reset or a change of user: the list to show
    onNotification(n) {
      n._arrived = Date.now();
      items.delete(n.id);
      items.set(n.id, n);
      render();
      toast(n);
    },
    onRead(d) {
      shown.reads = (shown.reads || 0) + 1;
      shown.lastRead = d;
      render();
    },
    onUnread(count) {
      shown.unread = count;
      badge(count);
    },
    onStatus(s) {
      shown.status = s;
      const el = $("conn");
      el.dataset.state = s.state;
      el.dataset.role = s.role;
      el.textContent = stateText[s.state] || s.state;
      el.title = s.reason || "";
      // A refused pasted token: ask for another, then try again with it.
      if (s.state === "unauthorized" && !devTokens) askToken().then(() => window.vividlyDemo.handle.reconnect());
    },
  });
  loadPrefs();
  loadPush();
}

main();
