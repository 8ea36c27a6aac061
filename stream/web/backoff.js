// Backoff and retry: how long to wait after a failure, and whether to try again.

import { failure } from "./failure.js";

const MIN_BASE_MS = 200; // a retry hint below this would turn backoff into hammering

// backoffDelay is the wait before reconnect attempt n (0-based): "full jitter" over an
// exponentially growing cap, so a server restart is not met by every client at once.
export function backoffDelay(attempt, { baseMs = 1000, maxMs = 30000 } = {}, random = Math.random) {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}

// retryAfter decides what a failure means: null to stop (aborted, or unauthorized —
// the session is parked), else how long to wait and why.
export function retryAfter(c, sess, err) {
  const e = err && err.kind ? err : failure("error", { detail: String(err?.message || err) });
  if (sess.dead || e.kind === "aborted") return null;
  let min = 0;
  let reason = e.kind;
  if (e.kind === "no-token") return c.park(sess, "no-token", null), null;
  if (e.kind === "token-error" && ++sess.tokenErrors >= 3) return c.park(sess, "token-error", null, e.detail), null;
  if (e.kind === "http") {
    reason = `http-${e.status}`;
    // One refusal may be a token that expired on the way: retry once with a fresh one.
    if (e.status === 401 && ++sess.authFailures >= 2) return c.park(sess, reason, sess.token, e.detail), null;
    if (e.status === 403 || e.status === 204) return c.park(sess, reason, sess.token, e.detail), null;
    min = e.retryAfterMs ?? (e.status === 429 ? 5000 : 0);
  }
  const attempt = sess.attempt++;
  const delayMs = min + backoffDelay(attempt, { baseMs: Math.max(MIN_BASE_MS, sess.hint ?? c.backoff.baseMs), maxMs: c.backoff.maxMs });
  return { reason, delayMs, attempt, detail: e.detail || "" };
}

// sleep waits ms, or less when the session ends or is woken (handle.reconnect());
// it resolves whether the session is still alive.
export function sleep(sess, ms) {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      sess.wake = null;
      resolve(!sess.dead);
    }, ms);
    sess.wake = () => {
      clearTimeout(t);
      sess.wake = null;
      resolve(!sess.dead);
    };
  });
}
