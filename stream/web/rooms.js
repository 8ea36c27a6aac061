// Vividly rooms — browser client of GET /api/v1/rooms/{room}/ws (docs/PROTOCOL.md,
// "Rooms"). Dependency-free ES module, no build step, served beside notifications.js.
//
//   import { join } from "/client/rooms.js";
//   const room = join("class-7b", {
//     getToken: () => myApp.currentJwt(),     // exchanged for a single-use ticket per socket
//     onMessages: (list, {reset}) => show(list),  // the list to show (on join, again after a reset)
//     onMessage: (m) => add(m),               // each later message once, in id order
//     onState: ({state, version, by}) => follow(state),
//     onPresence: (members, change) => list(members),
//     onError: (e) => toast(e.code),          // refusals: rate_limited, conflict, forbidden, invalid
//   });
//   room.send("Why is the sky blue?"); room.setState({playing: true}, room.version);
//
// Credentials. A browser's WebSocket cannot carry an Authorization header, so each
// socket opens with a single-use ticket (POST /api/v1/notifications/tickets with the
// JWT), or, with {cookie: true}, with the HttpOnly cookie of a same-site deployment.
//
// Resume. The socket remembers the newest message id it has seen and reconnects (with
// backoff.js's jittered backoff) with ?after=<id>: the welcome then carries exactly
// the messages missed, which reach onMessage; "reset": true means the server could not
// resume (too old), and onMessages replaces the list. Sends made while the socket is
// down wait for the next welcome; a send whose echo (same client_id) is neither live
// nor in the replay after a reconnect was never stored, and is sent again.

import { backoffDelay } from "./backoff.js";

export const ROOMS_PROTOCOL = "vividly.rooms.v1";
const TICKETS_PATH = "/api/v1/notifications/tickets";
// Close codes after which trying again cannot help: not a member, a bad subprotocol.
const TERMINAL = new Set([4403, 1002]);

// compareIds orders message ids: "<ms>-<seq>", two numbers (never as strings).
export function compareIds(a, b) {
  const [am, as] = String(a).split("-").map(BigInt);
  const [bm, bs] = String(b).split("-").map(BigInt);
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

function newClientId() {
  return globalThis.crypto?.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

// socketURL is the room's WebSocket URL on base (an http(s) origin).
export function socketURL(base, room, { ticket, after } = {}) {
  const u = new URL(`/api/v1/rooms/${encodeURIComponent(room)}/ws`, base);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  if (ticket) u.searchParams.set("ticket", ticket);
  if (after) u.searchParams.set("after", after);
  return u.toString();
}

/**
 * join enters room and stays in it until close(). Options:
 *   baseUrl     the stream service's origin (default: this page's origin)
 *   getToken    () => JWT | Promise of one: exchanged for a ticket for each socket
 *   cookie      true: the HttpOnly cookie authenticates (no getToken needed)
 *   onMessages  (list, {reset}) => void: the messages to show, oldest first
 *   onMessage   (m) => void: each newer message once: {id, user, text, client_id, created_at}
 *   onState     ({state, version, by}) => void: the shared state (state null: never set)
 *   onPresence  (members, change) => void: [{user, teacher}] sorted by user; change is
 *               {op: "welcome"} or the join/leave frame
 *   onError     ({code, message}) => void: a refused frame, or a failure to connect
 *               (code "closed-<close code>", "ticket-<HTTP status>", "network")
 *   onStatus    ({state, attempt, delayMs, code}) => void: connecting | open |
 *               reconnecting | refused (until reconnect(): not a member, or the
 *               credentials refused twice) | closed
 *   backoff     {baseMs, maxMs} (default 500, 15000)
 *   pingMs      a ping this often; a socket silent for two periods is reopened (20000)
 * Returns {send(text) → client_id, setState(state, version), close(), reconnect(),
 *   members, state, version, lastId, status}.
 */
export function join(room, opts = {}) {
  if (!opts.cookie && typeof opts.getToken !== "function") throw new TypeError("join: getToken or cookie is required");
  const base = String(opts.baseUrl || location.origin).replace(/\/+$/, "");
  const call = (name, ...args) => {
    try {
      opts[name]?.(...args);
    } catch (e) {
      setTimeout(() => { throw e; }); // the app's bug: report it, keep the room going
    }
  };
  const r = {
    ws: null, closed: false, attempt: 0, timer: null, wake: null, lastId: "", welcomed: false,
    members: new Map(), state: null, version: 0, status: "connecting",
    queue: [], // frames waiting for an open socket
    pending: new Map(), // client_id → text: sent, echo not seen yet
  };
  const backoff = { baseMs: opts.backoff?.baseMs ?? 500, maxMs: opts.backoff?.maxMs ?? 15000 };
  const pingMs = opts.pingMs ?? 20000;

  const status = (state, extra = {}) => {
    r.status = state;
    call("onStatus", { state, attempt: r.attempt, ...extra });
  };
  const memberList = () => [...r.members].map(([user, teacher]) => ({ user, teacher })).sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));

  async function ticket() {
    const t = await opts.getToken();
    if (!t) throw Object.assign(new Error("no token"), { code: "no-token" });
    let res;
    try {
      res = await fetch(base + TICKETS_PATH, { method: "POST", headers: { Authorization: `Bearer ${t}` }, cache: "no-store" });
    } catch {
      throw Object.assign(new Error("network"), { code: "network" });
    }
    if (!res.ok) throw Object.assign(new Error(`ticket: HTTP ${res.status}`), { code: `ticket-${res.status}`, status: res.status });
    return (await res.json()).ticket;
  }

  async function open() {
    if (r.closed) return;
    status(r.attempt === 0 && !r.welcomed ? "connecting" : "reconnecting");
    let url;
    try {
      url = socketURL(base, room, { ticket: opts.cookie ? "" : await ticket(), after: r.lastId });
    } catch (e) {
      call("onError", { code: e.code || "token-error", message: String(e.message || e) });
      // Signed out, or the token refused twice: wait for reconnect().
      if (e.code === "no-token" || (e.status === 401 && (r.authFailures = (r.authFailures || 0) + 1) >= 2)) {
        return status("refused", { code: e.code });
      }
      return retry(e.status === 429 ? 5000 : 0, e.code);
    }
    if (r.closed) return;
    const ws = new WebSocket(url, ROOMS_PROTOCOL);
    r.ws = ws;
    let heard = Date.now();
    const pinger = setInterval(() => {
      if (Date.now() - heard > 2 * pingMs) return ws.close(4000, "silent"); // a dead path: reopen
      if (ws.readyState === WebSocket.OPEN) ws.send('{"op":"ping"}');
    }, pingMs);
    ws.onmessage = (ev) => {
      heard = Date.now();
      let f;
      try {
        f = JSON.parse(ev.data);
      } catch {
        return;
      }
      frame(f);
    };
    ws.onclose = (ev) => {
      clearInterval(pinger);
      if (r.ws !== ws) return;
      r.ws = null;
      r.welcomed = false;
      if (r.closed) return;
      // Refused credentials twice in a row (a fresh ticket each time): the token is bad,
      // not late; stop until reconnect() (the notification client parks the same way).
      r.authFailures = ev.code === 4401 ? (r.authFailures || 0) + 1 : 0;
      if (TERMINAL.has(ev.code) || r.authFailures >= 2) {
        call("onError", { code: `closed-${ev.code}`, message: ev.reason });
        return status("refused", { code: ev.code });
      }
      if (ev.code >= 4000 && ev.code !== 4000) call("onError", { code: `closed-${ev.code}`, message: ev.reason });
      retry(ev.code === 4429 ? 5000 : 0, `closed-${ev.code}`);
    };
  }

  function retry(minMs, code) {
    if (r.closed) return;
    const delayMs = minMs + backoffDelay(r.attempt++, backoff);
    status("reconnecting", { delayMs, code });
    r.timer = setTimeout(() => { r.timer = null; open(); }, delayMs);
  }

  function welcome(f) {
    r.attempt = 0;
    r.authFailures = 0;
    r.members = new Map(f.members.map((m) => [m.user, m.teacher]));
    const first = !r.lastId;
    if (first || f.reset) {
      call("onMessages", f.messages, { reset: !!f.reset });
    } else {
      for (const m of f.messages) deliver(m);
    }
    if (f.reset) r.lastId = ""; // what the room keeps now, not what this page saw, is the position
    if (f.messages.length) r.lastId = f.messages[f.messages.length - 1].id;
    if (!r.lastId || compareIds(f.cursor, r.lastId) > 0) r.lastId = f.cursor;
    for (const m of f.messages) r.pending.delete(m.client_id);
    r.state = f.state;
    r.version = f.version;
    call("onPresence", memberList(), { op: "welcome" });
    call("onState", { state: f.state, version: f.version, by: null });
    status("open");
    // What was sent and never stored goes again, then what waited for the socket.
    const again = [...r.pending].map(([client_id, text]) => JSON.stringify({ op: "send", text, client_id }));
    const q = r.queue.filter((s) => !again.includes(s));
    r.queue = [];
    for (const s of [...again, ...q]) r.ws.send(s);
  }

  function deliver(m) {
    if (r.lastId && compareIds(m.id, r.lastId) <= 0) return; // the welcome had it
    r.lastId = m.id;
    r.pending.delete(m.client_id);
    call("onMessage", m);
  }

  function frame(f) {
    switch (f.op) {
      case "welcome":
        r.welcomed = true;
        return welcome(f);
      case "message":
        return deliver(f);
      case "state":
        if (f.version <= r.version) return;
        r.state = f.state;
        r.version = f.version;
        return call("onState", { state: f.state, version: f.version, by: f.by });
      case "join":
      case "leave":
        if (f.op === "join") r.members.set(f.user, f.teacher);
        else r.members.delete(f.user);
        return call("onPresence", memberList(), f);
      case "error":
        // A refused send is not stored: it must not go again after a reconnect. The
        // error does not say which send it was, so none in flight is retried.
        if (f.code === "rate_limited" || f.code === "invalid") r.pending.clear();
        return call("onError", { code: f.code, message: f.message });
    }
  }

  function put(s) {
    if (r.ws && r.welcomed && r.ws.readyState === WebSocket.OPEN) r.ws.send(s);
    else r.queue.push(s);
  }

  open();
  return {
    // send posts a message; it returns its client_id (the echo carries it).
    send(text) {
      const client_id = newClientId();
      r.pending.set(client_id, String(text));
      put(JSON.stringify({ op: "send", text: String(text), client_id }));
      return client_id;
    },
    // setState replaces the room's state when version is the current one (teachers).
    setState(state, version = r.version) {
      put(JSON.stringify({ op: "state", state, version }));
    },
    close() {
      if (r.closed) return;
      r.closed = true;
      clearTimeout(r.timer);
      r.ws?.close(1000, "left");
      r.ws = null;
      status("closed");
    },
    // reconnect opens a new socket now (after "refused", or instead of a backoff wait).
    reconnect() {
      if (r.closed) return;
      r.authFailures = 0;
      clearTimeout(r.timer);
      r.timer = null;
      if (r.ws) r.ws.close(4000, "reconnect");
      else open();
    },
    get members() { return memberList(); },
    get state() { return r.state; },
    get version() { return r.version; },
    get lastId() { return r.lastId; },
    get status() { return r.status; },
  };
}
