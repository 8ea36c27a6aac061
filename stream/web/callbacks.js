// Calling the app back. An exception in the app's callback is reported (window.onerror,
// console) and never breaks the client; a session that ended calls nothing.

import { post } from "./channel.js";

// call runs an app callback for a live session.
export function call(c, sess, fn, ...args) {
  if (c.closed || sess !== c.s || sess.dead || typeof fn !== "function") return;
  try {
    fn(...args);
  } catch (e) {
    setTimeout(() => {
      throw e;
    });
  }
}

// status reports sess's state to the app, and as leader to the user's other tabs.
export function status(c, sess, state, extra = {}) {
  if (c.closed || sess !== c.s || sess.dead) return;
  const st = { state, reason: "", role: sess.role, attempt: sess.attempt, user: sess.user, shared: sess.shared, ...extra };
  sess.status = st;
  call(c, sess, c.opts.onStatus, st);
  if (sess.role === "leader") post(sess, { kind: "status", status: st });
}

// callStatus reports a state that belongs to no session (booting, closed).
export function callStatus(c, st) {
  if (c.closed || !c.opts.onStatus) return;
  try {
    c.opts.onStatus(st);
  } catch (e) {
    setTimeout(() => {
      throw e;
    });
  }
}
