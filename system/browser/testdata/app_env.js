// What the usage example of docs/CLIENT.md expects the app to provide (auth.currentJwt, setItems,
// addItem, toast, setConnection, showSignIn), recording everything in window.app for the
// browser tests. Query parameters: user, ttl (token lifetime), auth (ok | null | throw |
// bad), opts (JSON merged into connect's options by the test's client wrapper).
"use strict";
const q = new URLSearchParams(location.search);
window.testOptions = q.has("opts") ? JSON.parse(q.get("opts")) : {};
window.app = {
  items: [], toasts: [], toastAt: {}, statuses: [], raw: [], errors: [], reads: [],
  setItems: 0, signIn: 0, tokenCalls: 0, state: "", reason: "",
  auth: { user: q.get("user") || "student-1", mode: q.get("auth") || "ok", ttl: q.get("ttl") || "1h" },
};
addEventListener("error", (e) => app.errors.push(String(e.message)));
addEventListener("unhandledrejection", (e) => app.errors.push(String(e.reason)));

let cached = null; // {token, user, mode, until}
var auth = {
  async currentJwt() {
    app.tokenCalls++;
    const a = app.auth;
    if (a.mode === "null") return null;
    if (a.mode === "throw") throw new Error("token refresh failed");
    if (!cached || cached.user !== a.user || cached.mode !== a.mode || performance.now() > cached.until) {
      const res = await fetch(`/token?user=${encodeURIComponent(a.user)}&ttl=${a.ttl}&mode=${a.mode}&claim=${q.get("claim") || ""}`);
      const body = await res.json();
      cached = { token: body.token, user: a.user, mode: a.mode, until: performance.now() + body.expires_in * 1000 - 1000 };
    }
    return cached.token;
  },
};

const pick = (n) => ({ id: String(n.id), title: n.title || "", type: n.type });
function setItems(list) {
  app.setItems++;
  app.items = list.map(pick);
}
function addItem(n) {
  app.items.push(pick(n));
}
function toast(n) {
  app.toasts.push(String(n.id));
  app.toastAt[n.id] = Date.now();
}
function setConnection(state, reason) {
  app.state = state;
  app.reason = reason || "";
  app.statuses.push({ state, reason: reason || "", at: Date.now() });
}
function showSignIn() {
  app.signIn++;
}
