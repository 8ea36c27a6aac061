// Tokens. The app's getToken supplies the JWT; it travels in the Authorization header.

import { failure } from "./failure.js";

// userFromToken reads a claim of a JWT without verifying it (the server does), to keep
// one user's position, leader election and relays apart from another's.
export function userFromToken(token, claim = "sub") {
  try {
    const part = String(token).split(".")[1];
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const v = JSON.parse(json)[claim];
    return typeof v === "string" && v ? v : null;
  } catch {
    return null;
  }
}

// token asks the app for a credential for sess. A token for another user ends this
// session and starts one for that user.
export async function token(c, sess) {
  let t;
  try {
    t = await c.opts.getToken();
  } catch (e) {
    throw failure("token-error", { detail: String(e?.message || e) });
  }
  if (sess.dead) throw failure("aborted");
  if (!t) throw failure("no-token");
  const user = userFromToken(t, c.claim);
  if (user !== sess.user) {
    c.startSession(t, user, "user-changed");
    throw failure("aborted");
  }
  sess.token = t;
  return t;
}
