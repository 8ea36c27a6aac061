// Vividly notifications — browser client. Dependency-free ES modules, no build step:
// this is the entry point; its siblings (served beside it under /client/) hold the parts.
//
//   import { connect } from "/client/notifications.js";
//   const handle = connect({
//     baseUrl: "https://notifications.example",   // the stream service
//     getToken: () => myApp.currentJwt(),          // the app's JWT (cached is fine); null when signed out
//     onHistory: (list) => setItems(list),         // the list to show, oldest first (again after a reset)
//     onNotification: (n) => addAndToast(n),       // each new notification once, in order, any type
//     onStatus: (s) => setBadge(s.state, s.reason),
//   });
//   handle.close();
//
// Transport. The stream is read with fetch() and parsed by sse-parser.js rather than
// by EventSource, because EventSource hides what a robust client needs: the HTTP status
// of a refusal (401 vs 429 vs 503, and Retry-After), the server's `retry:` hint, the
// `: ping` comments that prove a quiet connection is alive, and events of types nobody
// registered a listener for (Phase 2 adds types the app must not have to list). It
// also lets the JWT travel in the Authorization header, so no ticket is needed.
//
// The modules:
//   session.js         a session per user: start, end, park ("unauthorized"), the user behind getToken
//   history.js         the history shown first, and where the stream starts
//   leader.js          tabs: the leader election (Web Locks) and what followers do with relays
//   channel.js         the user's BroadcastChannel between tabs
//   stream.js          the leader's stream: fetch, heartbeat watchdog, what each frame means
//   sse-parser.js      text/event-stream parsing
//   reset.js           recovery after `event: reset`
//   read-state.js      read state and the unread count; markRead
//   inbox.js           the unseen count, seen/archive/unarchive/unread, history pages
//   position-store.js  the resume position and recently seen ids, in storage
//   backoff.js         backoff and whether to retry after a failure
//   token.js           the user in a JWT; asking the app for a token
//   http.js            API requests
//   failure.js         the errors the client acts on
//   callbacks.js       calling the app back (onStatus and the rest)
//   push.js            Web Push subscriptions (the worker is sw.js)
//   rooms.js           rooms over WebSockets: joinRoom (a class watching together)
//
// Every module is imported here, even those this file does not use itself, so that the
// browser fetches them all at once rather than one level of imports after another.

import { callStatus } from "./callbacks.js";
import { API_PATH, MAX_PAGE, request } from "./http.js";
import { archive, markAllSeen, markSeen, page, unarchive, unseenCount } from "./inbox.js";
import { disablePush, enablePush, pushState } from "./push.js";
import { markAllRead, markRead, markUnread } from "./read-state.js";
import { boot, checkUser, endSession, park, startSession } from "./session.js";
import "./channel.js";
import "./failure.js";
import "./history.js";
import "./leader.js";
import "./reset.js";
import "./stream.js";

export { backoffDelay } from "./backoff.js";
export { createPositionStore, createSeen } from "./position-store.js";
export { urlB64ToBytes } from "./push.js";
export { compareIds, join as joinRoom, ROOMS_PROTOCOL } from "./rooms.js";
export { createSSEParser } from "./sse-parser.js";
export { userFromToken } from "./token.js";

/**
 * connect starts receiving the user's notifications. Options:
 *   baseUrl         the stream service's origin (default: this page's origin)
 *   getToken        () => JWT | null | Promise of one (required); null means signed out
 *   onHistory       (list) => void: the notifications to show, oldest first
 *   onNotification  (n) => void: each new notification, once, in the server's order, any type
 *   onReset         (list, {reason}) => void: replace what is shown (the server could not
 *                   resume, or the user changed); default onHistory. Notifications missed
 *                   in a gap follow through onNotification, never in list as well.
 *   onRead          ({ids} | {all}) => void: notifications were marked read, in this tab,
 *                   another tab or another device (the server's `event: read`, relayed)
 *   onInbox         ({op, ids} | {op, all}) => void: op seen, archive, unarchive or unread,
 *                   in this tab, another tab or another device (`event: inbox`, relayed)
 *   onUnread        (count) => void: the server's unread count as this page knows it:
 *                   the history's `unread`, plus new notifications and what is made unread,
 *                   minus what is marked read anywhere. handle.isUnread(id) tells one
 *                   notification's state.
 *   onUnseen        (count) => void: the server's unseen count (the bell's "new"), kept as
 *                   onUnread's: the history's `unseen`, plus new notifications, minus what
 *                   is marked seen anywhere (`event: inbox` op seen).
 *   onStatus        ({state, reason, role, attempt, delayMs, user, shared, detail}) => void
 *                   state: waiting | connecting | open | reconnecting | unauthorized | closed.
 *                   "unauthorized" is terminal until getToken returns another token or
 *                   handle.reconnect() is called.
 *   historyLimit    how many past notifications to load (default 50, at most 200)
 *   userClaim       the JWT claim naming the user (default "sub"; the server's JWT_USER_CLAIM)
 *   backoff         {baseMs, maxMs}: the server's retry: hint replaces baseMs once seen
 *   stableMs        a stream open this long resets the backoff (default 30000)
 *   heartbeatMs     the server's heartbeat until one is observed (default 15000)
 *   userCheckMs     how often getToken is asked whether the user changed (default 10000)
 *   shareAcrossTabs default true
 * Returns {close(), reconnect(), role, user, state, unread, isUnread(id),
 *   markRead(ids), markAllRead(), unseen, markSeen(ids), markAllSeen(), archive(ids),
 *   unarchive(ids), markUnread(ids), page(q), getPreferences(), setPreferences(p)} — and
 *   enablePush(o)/disablePush(o)/pushState(o) for Web Push (see push.js).
 */
export function connect(opts) {
  if (!opts || typeof opts.getToken !== "function") throw new TypeError("connect: getToken is required");
  const base = String(opts.baseUrl || location.origin).replace(/\/+$/, "");
  // c is this client: its options and state, handed to every module's functions.
  // c.s is the current session: one user's history, stream or relay, position.
  const c = {
    opts,
    base,
    api: base + API_PATH,
    claim: opts.userClaim || "sub",
    historyLimit: Math.min(MAX_PAGE, Math.max(1, Math.floor(Number(opts.historyLimit) || 50))),
    backoff: { baseMs: opts.backoff?.baseMs ?? 1000, maxMs: opts.backoff?.maxMs ?? 30000 },
    stableMs: opts.stableMs ?? 30000,
    heartbeatMs: opts.heartbeatMs ?? 15000,
    wantShare: opts.shareAcrossTabs !== false,
    onReset: opts.onReset || opts.onHistory,
    closed: false,
    s: null,
    bootGen: 0,
    // token.js and backoff.js start and park sessions through these: session.js
    // imports them (through history.js), so they cannot import it back.
    startSession: (tok, user, why) => startSession(c, tok, user, why),
    park: (sess, reason, refused, detail) => park(c, sess, reason, refused, detail),
  };
  const req = (method, path, body) => request(c, method, path, body);

  const checker = setInterval(() => checkUser(c), opts.userCheckMs ?? 10000);
  const onVisible = () => {
    if (typeof document !== "undefined" && document.visibilityState === "visible") checkUser(c);
  };
  if (typeof document !== "undefined") document.addEventListener("visibilitychange", onVisible);

  boot(c, "");

  return {
    close() {
      if (c.closed) return;
      clearInterval(checker);
      if (typeof document !== "undefined") document.removeEventListener("visibilitychange", onVisible);
      c.bootGen++;
      const sess = c.s;
      const role = sess ? sess.role : "none";
      if (sess && !sess.dead) endSession(sess);
      callStatus(c, { state: "closed", reason: "closed", role, attempt: 0, user: sess ? sess.user : null, shared: false });
      c.closed = true;
    },
    // reconnect tries now: after "unauthorized" (once the user has signed in again), or
    // instead of waiting out a backoff.
    reconnect() {
      if (c.closed) return;
      if (!c.s || c.s.parked) boot(c, "reconnect");
      else if (c.s.wake) c.s.wake();
    },
    // role and state agree with the last onStatus: "closed"/"none" once closed (the
    // session object outlives close() for the callbacks still in flight).
    get role() {
      return c.closed || !c.s ? "none" : c.s.role;
    },
    get user() {
      return c.s ? c.s.user : null;
    },
    get state() {
      if (c.closed) return "closed";
      return c.s && c.s.status ? c.s.status.state : "connecting";
    },
    get unread() {
      return c.s && c.s.unreadIds ? c.s.unreadIds.size + c.s.outside : 0;
    },
    isUnread: (id) => !!(c.s && c.s.unreadIds && c.s.unreadIds.has(String(id))),
    markRead: (ids) => markRead(c, ids),
    markAllRead: () => markAllRead(c),
    markUnread: (ids) => markUnread(c, ids), // read-state.js: the page shows it at once
    // The inbox (inbox.js): each returns a promise that rejects with the server's refusal.
    get unseen() {
      return unseenCount(c.s);
    },
    markSeen: (ids) => markSeen(c, ids),
    markAllSeen: () => markAllSeen(c),
    archive: (ids) => archive(c, ids),
    unarchive: (ids) => unarchive(c, ids),
    // page({limit, unread, type, archived, before, after}) → one history page as the
    // server sends it (prev pages backwards). Its items are not delivered as notifications.
    page: (q) => page(c, q),
    // getPreferences → {muted_types, push, push_muted_types, quiet_hours}. setPreferences(p)
    // stores the whole document (fields left out keep their current value; quiet_hours:
    // null turns quiet hours off) and returns what the server stored.
    getPreferences: () => req("GET", "/preferences"),
    async setPreferences(p) {
      const all = ["muted_types", "push", "push_muted_types", "quiet_hours"];
      const cur = p && all.every((k) => k in p) ? {} : await req("GET", "/preferences");
      return req("PUT", "/preferences", {
        muted_types: p.muted_types ?? cur.muted_types ?? [],
        push: p.push ?? cur.push ?? true,
        push_muted_types: p.push_muted_types ?? cur.push_muted_types ?? [],
        quiet_hours: "quiet_hours" in p ? p.quiet_hours : cur.quiet_hours ?? null,
      });
    },
    enablePush: (o = {}) => enablePush({ ...o, request: req }),
    disablePush: (o = {}) => disablePush({ ...o, request: req }),
    pushState: (o = {}) => pushState({ ...o, request: req }),
  };
}
