// The demo notification centre: a bell with the unread count, the list (history +
// live), toasts, mark-as-read and the connection state, on top of notifications.js.
// The inbox's views and actions (filters, load older, archive, mark unread) are inbox-ui.js;
// quiet hours and push-only mutes in the preferences are prefs-ui.js.
// Notifications of any type show by severity; expired ones are hidden.
import { connect, userFromToken } from "../client/notifications.js";
import { createInbox } from "./inbox-ui.js";
import * as prefsUI from "./prefs-ui.js";

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

// --- Severity, types, links, expiry ------------------------------------------------
// Only the job types have their own wording; any other type (announcements, grades,
// types added after this page was written) renders generically from title, body, link
// and severity, with its type as a label.
const SEVERITY = { info: "Info", success: "Success", warning: "Warning", error: "Error" };
const SEVERITY_ICON = { info: "i", success: "✓", warning: "!", error: "✕" }; // beside the label, never alone
const isJob = (n) => n.type === "video_complete" || n.type === "video_failed";
const text = (v) => (typeof v === "string" ? v : v == null ? "" : String(v));
// severityOf is the severity to style by: an unknown one (newer than this page) is info.
const severityOf = (n) => (Object.hasOwn(SEVERITY, text(n.severity)) ? text(n.severity) : "info");
// groupKind is what a run of notifications must share to show as one group or toast:
// the type, and for other than jobs the severity (an error never hides among infos).
const groupKind = (n) => (isJob(n) ? text(n.type) : `${text(n.type)}|${severityOf(n)}`);

// typeLabel names a type for people: "grade_posted" → "Grade posted".
function typeLabel(type) {
  const t = text(type).replace(/_/g, " ").trim().slice(0, 60) || "notification";
  return t[0].toUpperCase() + t.slice(1);
}

// headline is a generic notification's title, or its type when it has none.
const headline = (n) => text(n.title).trim() || typeLabel(n.type);

// httpsLink is url when it is an absolute https URL, else null: nothing else becomes a
// link (no javascript:, data:, http: or relative URLs).
function httpsLink(url) {
  if (typeof url !== "string" || !url) return null;
  try {
    const u = new URL(url);
    return u.protocol === "https:" ? u.href : null;
  } catch {
    return null;
  }
}

function linkTo(href, label) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = label;
  a.rel = "noopener noreferrer"; // a normal link: same tab, no opener, no referrer
  return a;
}

// severityLabel is the visible severity: an icon (hidden from screen readers) and the
// word, so the severity never rests on colour alone.
function severityLabel(sev) {
  const el = document.createElement("span");
  el.className = `sev-label sev-${sev}`;
  const icon = document.createElement("span");
  icon.className = "sev-icon";
  icon.setAttribute("aria-hidden", "true");
  icon.textContent = SEVERITY_ICON[sev];
  el.append(icon, SEVERITY[sev]);
  return el;
}

// content fills el with a generic notification: severity and type, title, body. All of
// it is text (textContent), never HTML.
function content(el, n) {
  const meta = document.createElement("span");
  meta.className = "n-meta";
  meta.append(severityLabel(severityOf(n)));
  if (text(n.title).trim()) {
    const type = document.createElement("span");
    type.className = "type-label";
    type.textContent = typeLabel(n.type);
    meta.append(type);
  }
  const title = document.createElement("span");
  title.className = "n-title";
  title.textContent = headline(n);
  el.append(meta, title);
  if (text(n.body)) {
    const body = document.createElement("span");
    body.className = "n-body";
    body.textContent = text(n.body);
    el.append(body);
  }
}

// Expiry. The server never sends a notification after its expires_at, live or in a
// replay, and history leaves expired ones out; one can still expire while this page
// shows it, and then the page hides it (list and toast). Time is the server's as well
// as the page knows it: the client clock corrected by the Date header of a same-origin
// response, so a laptop clock an hour off neither hides a live announcement at once nor
// keeps an expired one for an hour.
let clockOffset = 0; // server clock − Date.now(), ms
const serverNow = () => Date.now() + clockOffset;
const expiresAt = (n) => {
  const t = Date.parse(text(n.expires_at));
  return Number.isNaN(t) ? Infinity : t;
};
const expired = (n) => expiresAt(n) <= serverNow();
let expiryTimer = 0;

async function syncClock() {
  try {
    const sent = Date.now();
    const res = await fetch(location.pathname, { method: "HEAD", cache: "no-store" });
    const got = Date.now();
    const server = Date.parse(res.headers.get("Date") || "");
    if (Number.isNaN(server)) return;
    // Date has whole seconds: the answer left in [server, server + 1 s).
    const offset = server + 500 - (sent + got) / 2;
    clockOffset = Math.abs(offset) < 2000 ? 0 : offset; // within the header's precision: trust the client
    shown.clockOffset = clockOffset;
    render();
  } catch {
    // unreachable: the client clock it is
  }
}

// scheduleExpiry renders again when the next shown notification expires (and at least
// every minute while one is due: a sleeping laptop's timers run late).
function scheduleExpiry() {
  clearTimeout(expiryTimer);
  const now = serverNow();
  let next = Infinity;
  for (const n of items.values()) {
    const t = expiresAt(n);
    if (t > now && t < next) next = t;
  }
  if (next !== Infinity) expiryTimer = setTimeout(render, Math.min(next - now + 50, 60000));
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
const inbox = createInbox({
  $,
  handle: () => handle,
  getItems: () => items,
  setItems: (m) => void (items = m),
  render: () => render(),
  announce: (t) => {
    shown.inboxStatus = t;
    $("inbox-status").textContent = t;
  },
});
const when = (n) => {
  const t = Date.parse(n.created_at || "");
  return Number.isNaN(t) ? n._arrived || 0 : t;
};

function describe(n) {
  const title = n.title ? `“${n.title}”` : "Your video";
  if (n.type === "video_complete") return `${title} is ready`;
  if (n.type === "video_failed") return `${title} could not be generated${n.error ? `: ${n.error}` : ""}`;
  // Any other type (announcements, grades …): its title (or type) and body.
  return [headline(n), text(n.body)].filter(Boolean).join(" — ");
}

// spoken is describe(n) with what the styling shows: severity, and the type beside a title.
function spoken(n) {
  if (isJob(n)) return describe(n);
  const type = text(n.title).trim() ? `${typeLabel(n.type)}: ` : "";
  return `${SEVERITY[severityOf(n)]}, ${type}${describe(n)}`;
}

// summary says what a group of notifications of one type is: "6 videos are ready".
function summary(type, count) {
  if (type === "video_complete") return `${count} videos are ready`;
  if (type === "video_failed") return `${count} videos could not be generated`;
  return `${count} new ${String(type).replace(/_/g, " ")} notifications`;
}

// groups cuts the list (newest first) into runs of one kind (type, and severity for
// other than jobs) within a minute of the run's newest notification. Presentation only:
// each notification keeps its own read state.
function groups(list) {
  const out = [];
  for (const n of list) {
    const g = out[out.length - 1];
    if (g && g.kind === groupKind(n) && Math.abs(when(g.items[0]) - when(n)) <= GROUP_MS) g.items.push(n);
    else out.push({ type: n.type, kind: groupKind(n), items: [n] });
  }
  for (const g of out) g.key = `${g.type}:${g.items[g.items.length - 1].id}`; // its oldest: stable as it grows
  return out;
}

// row fills el (an li) with one notification: the text (a button: mark as read), its
// time and its link. A job reads as a sentence; any other type shows its severity,
// type, title and body (content), and carries sev-<severity> for the styling.
function row(el, n) {
  el.dataset.id = n.id;
  el.dataset.title = n.title || "";
  el.classList.add(isUnread(n) ? "unread" : "read");
  const btn = document.createElement("button");
  btn.type = "button";
  btn.className = "item";
  if (isJob(n)) btn.textContent = describe(n);
  else {
    el.classList.add("sev", `sev-${severityOf(n)}`);
    el.dataset.severity = severityOf(n);
    el.dataset.type = text(n.type);
    content(btn, n);
  }
  btn.setAttribute("aria-label", `${isUnread(n) ? "Unread: " : ""}${spoken(n)}. Mark as read`);
  btn.addEventListener("click", () => handle && handle.markRead([n.id]).catch(() => {}));
  const time = document.createElement("time");
  time.className = "time";
  time.dateTime = n.created_at || "";
  time.textContent = n.created_at ? new Date(n.created_at).toLocaleString() : "";
  el.append(btn, time);
  const link = httpsLink(n.type === "video_complete" ? n.video_url : n.link);
  if (link) el.append(" ", linkTo(link, n.type === "video_complete" ? "Watch" : "Open"));
  inbox.actions(el, n, isUnread(n), isJob(n) ? describe(n) : headline(n));
}

// render draws the list, without what has expired. A group is one entry: its first li
// is the newest notification of the group, holding the summary, a toggle and (expanded)
// the others in a nested list, so every li is one notification.
function render() {
  const list = $("list");
  const focus = focusInList(list);
  list.replaceChildren();
  const sorted = inbox.list().filter((n) => !expired(n)).reverse(); // newest first, of the view (inbox-ui.js)
  shown.filter = inbox.filter;
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
    if (!isJob(first)) head.append(severityLabel(severityOf(first))); // the run shares it
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
    row(li, first); // the li is the newest notification (data-id, read state, severity)…
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
  restoreFocus(list, focus);
  $("empty").hidden = sorted.length > 0;
  $("empty").textContent = inbox.filter === "all" ? "No notifications yet." : "Nothing in this view.";
  badge(handle ? handle.unread : 0);
  for (const el of $("toasts").querySelectorAll(".toast")) {
    if (el.vividlyIds && el.vividlyIds.every((id) => items.has(id) && expired(items.get(id)))) el.remove();
  }
  scheduleExpiry();
}

// badge shows the unread count (red) and the unseen count ("N new": what arrived since
// the list was last opened, in any tab or on any device), and says both on the bell.
// focusInList notes which button of which notification has the keyboard focus, so a
// redraw (a mark, an archive, a new notification) does not drop it to the page's start.
function focusInList(list) {
  const a = document.activeElement;
  if (!a || !list.contains(a)) return null;
  return { id: a.closest("li[data-id]")?.dataset.id, cls: [...a.classList].find((c) => c.endsWith("-btn") || c === "item" || c === "group-toggle") };
}

// restoreFocus puts it back on the same button, or (the item left this view, or that
// button is gone) on the chip of the view, so the keyboard user stays in the list.
function restoreFocus(list, f) {
  if (!f) return;
  const li = [...list.querySelectorAll("li[data-id]")].find((el) => el.dataset.id === f.id);
  const target = (li && f.cls && li.querySelector(`.${f.cls}`)) || (li && li.querySelector("button"));
  (target || document.querySelector('#filters [aria-pressed="true"]'))?.focus();
}

function badge(count) {
  const el = $("badge");
  el.hidden = count === 0;
  el.textContent = String(count);
  const fresh = handle ? handle.unseen : 0;
  const u = $("unseen");
  u.hidden = fresh === 0;
  u.textContent = `${fresh} new`;
  const said = [count ? `${count} unread` : "", fresh ? `${fresh} new` : ""].filter(Boolean).join(", ");
  $("bell").setAttribute("aria-label", said ? `Notifications, ${said}` : "Notifications");
}

// toast raises a toast, or grows the toast of a burst: notifications of one kind within
// a minute share one ("6 videos are ready").
const bursts = new Map(); // groupKind → {el, text, ids, since, timer}
function toast(n) {
  shown.toasts.push(n.id);
  shown.toastAt[n.id] = Date.now();
  const b = bursts.get(groupKind(n));
  if (b && b.el.isConnected && Date.now() - b.since <= GROUP_MS) {
    b.ids.push(n.id);
    b.el.dataset.ids = b.ids.join(" ");
    b.text.replaceChildren(...(isJob(n) ? [] : [severityLabel(severityOf(n)), " "]), summary(n.type, b.ids.length));
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
  const sev = isJob(n) ? "" : severityOf(n);
  el.className = ["toast", n.type === "video_failed" || sev === "error" ? "failed" : "", sev ? `sev sev-${sev}` : ""].filter(Boolean).join(" ");
  el.dataset.id = n.id;
  el.dataset.ids = n.id;
  const line = document.createElement("span");
  const watch = n.type === "video_complete" && httpsLink(n.video_url);
  if (sev) line.append(severityLabel(sev), " ");
  line.append(describe(n) + (watch ? " — " : ""));
  el.append(line);
  if (watch) line.append(linkTo(watch, "Watch now"));
  const open = !isJob(n) && httpsLink(n.link);
  if (open) line.append(" ", linkTo(open, "Open"));
  const close = document.createElement("button");
  close.type = "button";
  close.textContent = "×";
  close.setAttribute("aria-label", "Dismiss");
  close.addEventListener("click", () => el.remove());
  el.append(close);
  $("toasts").append(el);
  const entry = { el, text: line, ids: [n.id], since: Date.now(), timer: setTimeout(() => el.remove(), 10000) };
  el.vividlyIds = entry.ids; // grows with the burst; render drops the toast once all expired
  bursts.set(groupKind(n), entry);
}

const stateText = {
  waiting: "Connecting…",
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
  unauthorized: "Signed out",
  closed: "Disconnected",
};

// openPanel shows or hides the list; opening it marks everything seen (the "new" count
// clears on every tab and device through the server's event: inbox).
function openPanel(open) {
  const panel = $("panel");
  panel.hidden = !open;
  $("bell").setAttribute("aria-expanded", String(open));
  if (open && handle && handle.unseen > 0) {
    handle.markAllSeen().catch((e) => ($("inbox-status").textContent = `Could not mark seen: ${e.detail || e.kind || e.message}`));
  }
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
  prefsUI.build($, MUTABLE);
}

function showPrefs(p) {
  prefsUI.show($, p);
  shown.prefs = p;
  for (const c of document.querySelectorAll('#prefs-form input[name="muted"]')) c.checked = p.muted_types.includes(c.value);
  $("pref-push").checked = !!p.push;
}

async function savePrefs() {
  const muted = [...document.querySelectorAll('#prefs-form input[name="muted"]:checked')].map((c) => c.value);
  // Types this page does not list stay muted.
  const other = (shown.prefs?.muted_types || []).filter((t) => !MUTABLE.some(([k]) => k === t));
  try {
    const inboxPart = prefsUI.read($, shown.prefs, MUTABLE); // push_muted_types, quiet_hours
    showPrefs(await handle.setPreferences({ muted_types: [...other, ...muted], push: $("pref-push").checked, ...inboxPart }));
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
  inbox.chips();
  $("load-older").addEventListener("click", () => inbox.loadOlder());
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
  syncClock(); // meanwhile: nothing is listed before the token and the history
  await signIn();
  const user = userFromToken(token) || "unknown";
  $("user").textContent = user;
  render();
  const show = (list, info) => {
    items = new Map(list.map((n) => [n.id, n]));
    inbox.onHistory(info); // renders
  };
  handle = window.vividlyDemo.handle = connect({
    baseUrl: params.get("base") || location.origin,
    getToken,
    backoff: { baseMs: Number(params.get("backoff_ms")) || 1000, maxMs: 10000 },
    historyLimit: Number(params.get("history_limit")) || 50, // small in tests of "Load older"
    onHistory: show, // also after a reset or a change of user: the list to show
    onNotification(n) {
      n._arrived = Date.now();
      items.delete(n.id);
      items.set(n.id, n);
      render();
      inbox.onNotification(n);
      if (!expired(n)) toast(n);
    },
    onInbox(d) {
      shown.inbox = (shown.inbox || 0) + 1;
      shown.lastInbox = d;
      inbox.onInbox(d); // renders
    },
    onUnseen(count) {
      shown.unseen = count;
      badge(handle ? handle.unread : 0);
    },
    onRead(d) {
      shown.reads = (shown.reads || 0) + 1;
      shown.lastRead = d;
      render();
      inbox.onRead();
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
