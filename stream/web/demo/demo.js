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
const local = store("localStorage");
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
// opaque, so the page never sorts them.
let items = new Map();
let readKey = "vividly-demo-read";
let read = new Set();

function saveRead() {
  local.set(readKey, JSON.stringify([...read].slice(-500)));
}

function describe(n) {
  const title = n.title ? `“${n.title}”` : "Your video";
  if (n.type === "video_complete") return `${title} is ready`;
  if (n.type === "video_failed") return `${title} could not be generated${n.error ? `: ${n.error}` : ""}`;
  // Any other type (announcements, grades …): its title and body.
  return [n.title || n.type, n.body].filter(Boolean).join(" — ");
}

function render() {
  const list = $("list");
  list.replaceChildren();
  const sorted = [...items.values()].reverse(); // newest first
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
    const link = n.type === "video_complete" ? n.video_url : n.link;
    if (link && /^https:\/\//.test(link)) {
      const a = document.createElement("a");
      a.href = link;
      a.textContent = n.type === "video_complete" ? "Watch" : "Open";
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
  el.className = `toast ${n.type === "video_failed" || n.severity === "error" ? "failed" : ""}`;
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
  unauthorized: "Signed out",
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
  try {
    read = new Set(JSON.parse(local.get(readKey) || "[]"));
  } catch {
    read = new Set();
  }
  render();
  const show = (list) => {
    items = new Map(list.map((n) => [n.id, n]));
    render();
  };
  window.vividlyDemo.handle = connect({
    baseUrl: params.get("base") || location.origin,
    getToken,
    backoff: { baseMs: Number(params.get("backoff_ms")) || 1000, maxMs: 10000 },
    onHistory: show, // also after a reset or a change of user: the list to show
    onNotification(n) {
      items.delete(n.id);
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
      el.title = s.reason || "";
      // A refused pasted token: ask for another, then try again with it.
      if (s.state === "unauthorized" && !devTokens) askToken().then(() => window.vividlyDemo.handle.reconnect());
    },
  });
}

main();
