// Sessions. A session (c.s) is one user's history, stream or relay, and position. A
// tab whose getToken starts returning another user ends its session and starts one for
// that user (leaving that user's tab group for the other's); a sign-out or a refusal
// parks it: state "unauthorized" until getToken returns another token or the app calls
// reconnect().

import { backoffDelay } from "./backoff.js";
import { call, callStatus, status } from "./callbacks.js";
import { closeChannel, openChannel, post } from "./channel.js";
import { loadHistory } from "./history.js";
import { onRelay } from "./leader.js";
import { createPositionStore, createSeen, storage } from "./position-store.js";
import { userFromToken } from "./token.js";

// startSession ends the current session and starts one for user with token tok.
export function startSession(c, tok, user, why) {
  if (c.s && !c.s.dead) endSession(c.s);
  const key = user ? `vividly-notifications:${c.base}:${user}` : null;
  const sess = {
    user, token: tok, why, key, ctrl: new AbortController(), dead: false, role: "follower", ready: false,
    shared: false, cursor: null, seen: createSeen(), pending: [], attempt: 0, hint: null, beatMs: 0,
    authFailures: 0, tokenErrors: 0, streaming: false, wake: null, unreadIds: new Set(), outside: 0,
    store: createPositionStore(key, [storage("localStorage"), storage("sessionStorage")]),
  };
  c.s = sess;
  if (c.wantShare && key && typeof BroadcastChannel === "function") openChannel(sess, (m) => onRelay(c, sess, m));
  status(c, sess, "connecting", { reason: why });
  loadHistory(c, sess);
}

export function endSession(sess) {
  sess.dead = true;
  sess.ctrl.abort();
  if (sess.wake) sess.wake();
  closeChannel(sess);
  if (sess.releaseLock) sess.releaseLock();
}

// park stops a session the server or the app refused: state "unauthorized" until
// getToken returns another token or the app calls reconnect().
export function park(c, sess, reason, refused, detail = "") {
  const st = { state: "unauthorized", reason, role: sess.role, attempt: sess.attempt, user: sess.user, shared: sess.shared, detail };
  if (sess.role === "leader") post(sess, { kind: "status", status: st });
  call(c, sess, c.opts.onStatus, st);
  endSession(sess);
  c.s = { parked: true, dead: true, user: sess.user, refused, role: sess.role, status: st };
}

// boot asks getToken for the first token (a few tries) and starts the session.
export async function boot(c, why) {
  const gen = ++c.bootGen;
  for (let i = 0; ; i++) {
    let t;
    let err = null;
    try {
      t = await c.opts.getToken();
    } catch (e) {
      err = e;
    }
    if (c.closed || gen !== c.bootGen) return;
    if (!err && !t) {
      c.s = { parked: true, dead: true, user: null, refused: null, role: "none" };
      callStatus(c, { state: "unauthorized", reason: "no-token", role: "none", attempt: 0, user: null, shared: false });
      return;
    }
    if (!err) return startSession(c, t, userFromToken(t, c.claim), why);
    if (i >= 2) {
      c.s = { parked: true, dead: true, user: null, refused: null, role: "none" };
      callStatus(c, { state: "unauthorized", reason: "token-error", role: "none", attempt: i, user: null, shared: false, detail: String(err?.message || err) });
      return;
    }
    const delayMs = backoffDelay(i, c.backoff);
    callStatus(c, { state: "reconnecting", reason: "token-error", role: "none", attempt: i, delayMs, user: null, shared: false });
    await new Promise((r) => setTimeout(r, delayMs));
  }
}

// checkUser notices a sign-out, or another student signing in, in a tab that is not
// asking for tokens itself (a follower, or a leader with an open stream), and a new
// credential after "unauthorized".
export async function checkUser(c) {
  const sess = c.s;
  if (c.closed || !sess) return;
  let t;
  try {
    t = await c.opts.getToken();
  } catch {
    return;
  }
  if (c.closed || sess !== c.s) return;
  const user = t ? userFromToken(t, c.claim) : null;
  if (sess.parked) {
    if (t && t !== sess.refused) startSession(c, t, user, "reconnect");
  } else if (!t) {
    park(c, sess, "no-token", null);
  } else if (user !== sess.user) {
    startSession(c, t, user, "user-changed");
  }
}
