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
let devTokens = false;

function expiresSoon(t) {
  try {
    const exp = JSON.parse(atob(t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).exp;
    return typeof exp === "number" && exp * 1000 - Date.now() < 5000;
  } catch {
    return false;
  }
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
  if (devTokens && (!token || expiresSoon(token))) token = await devToken();
  return token;
}

async function signIn() {
  try {
    token = await devToken();
    devTokens = true;
    $("publish").hidden = false;
    return;
  } catch {
    // Not the local system: ask for a token.
  }
  token = sessionStorage.getItem("vividly-demo-token");
  if (token) return;
  $("login").hidden = false;
  await new Promise((resolve) => {
    $("login-form").addEventListener("submit", (e) => {
      e.preventDefault();
      token = $("jwt").value.trim();
      sessionStorage.setItem("vividly-demo-token", token);
      $("login").hidden = true;
      resolve();
    });
  });
}

// --- Notification centre -------------------------------------------------------
const items = new Map(); // id → notification, for the list
let readKey = "vividly-demo-read";
let read = new Set();

function saveRead() {
  localStorage.setItem(readKey, JSON.stringify([...read].slice(-500)));
}

function describe(n) {
  const title = n.title ? `“${n.title}”` : "Your video";
  if (n.type === "video_complete") return `${title} is ready`;
  if (n.type === "video_failed") return `${title} could not be generated${n.error ? `: ${n.error}` : ""}`;
  return `${title}: ${n.type}`;
}

function render() {
  const list = $("list");
  list.replaceChildren();
  const sorted = [...items.values()].sort((a, b) => (a.id < b.id ? 1 : -1));
  for (const n of sorted) {
    const li = document.createElement("li");
    li.dataset.id = n.id;
    li.dataset.title = n.title || "";
    li.className = read.has(n.id) ? "read" : "unread";
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "item";
    btn.textContent = describe(n);
    btn.setAttribute("aria-label", `${read.has(n.id) ? "" : "Unread: "}${describe(n)}. Mark as read`);
    btn.addEventListener("click", () => {
      read.add(n.id);
      saveRead();
      render();
    });
    const time = document.createElement("time");
    time.className = "time";
    time.dateTime = n.created_at || "";
    time.textContent = n.created_at ? new Date(n.created_at).toLocaleString() : "";
    li.append(btn, time);
    if (n.type === "video_complete" && n.video_url) {
      const a = document.createElement("a");
      a.href = n.video_url;
      a.textContent = "Watch";
      a.rel = "noopener";
      li.append(" ", a);
    }
    list.append(li);
  }
  $("empty").hidden = items.size > 0;
  const unread = sorted.filter((n) => !read.has(n.id)).length;
  const badge = $("badge");
  badge.hidden = unread === 0;
  badge.textContent = String(unread);
  $("bell").setAttribute("aria-label", unread ? `Notifications, ${unread} unread` : "Notifications");
}

function toast(n) {
  shown.toasts.push(n.id);
  shown.toastAt[n.id] = Date.now();
  const el = document.createElement("div");
  el.className = `toast ${n.type === "video_failed" ? "failed" : ""}`;
  el.dataset.id = n.id;
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
  setTimeout(() => el.remove(), 10000);
}

const stateText = {
  waiting: "Connecting…",
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
  closed: "Disconnected",
};

function wire() {
  $("bell").addEventListener("click", () => {
    const panel = $("panel");
    panel.hidden = !panel.hidden;
    $("bell").setAttribute("aria-expanded", String(!panel.hidden));
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("panel").hidden) {
      $("panel").hidden = true;
      $("bell").setAttribute("aria-expanded", "false");
      $("bell").focus();
    }
  });
  $("mark-all").addEventListener("click", () => {
    for (const id of items.keys()) read.add(id);
    saveRead();
    render();
  });
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
}

async function main() {
  wire();
  await signIn();
  const user = userFromToken(token) || "unknown";
  $("user").textContent = user;
  readKey = `vividly-demo-read:${user}`;
  read = new Set(JSON.parse(localStorage.getItem(readKey) || "[]"));
  render();
  connect({
    baseUrl: params.get("base") || location.origin,
    getToken,
    backoff: { baseMs: Number(params.get("backoff_ms")) || 500, maxMs: 10000 },
    onHistory(list) {
      for (const n of list) items.set(n.id, n);
      render();
    },
    onReset(list) {
      for (const n of list) items.set(n.id, n);
      render();
    },
    onNotification(n) {
      items.set(n.id, n);
      render();
      toast(n);
    },
    onStatus(s) {
      shown.status = s;
      const el = $("conn");
      el.dataset.state = s.state;
      el.dataset.role = s.role;
      el.textContent = stateText[s.state] || s.state;
    },
  });
}

main();
