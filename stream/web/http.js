// Requests to the notifications API (history, read state, preferences, push
// subscriptions), each with the user's JWT in the Authorization header. The stream
// itself is fetched by stream.js.

import { failure, httpFailure } from "./failure.js";
import { token } from "./token.js";

export const API_PATH = "/api/v1/notifications";
export const MAX_PAGE = 200; // the server's largest history page (docs/PROTOCOL.md)

// getJSON fetches url for a session: aborted with it, with its user's token.
export async function getJSON(c, sess, url) {
  const t = await token(c, sess);
  let res;
  try {
    res = await fetch(url, { headers: { Authorization: `Bearer ${t}` }, signal: sess.ctrl.signal, cache: "no-store" });
  } catch {
    throw failure(sess.dead ? "aborted" : "network");
  }
  if (!res.ok) throw await httpFailure(res);
  sess.authFailures = 0;
  try {
    return await res.json();
  } catch {
    throw failure(sess.dead ? "aborted" : "bad-response");
  }
}

// request sends an API call with the current user's token.
export async function request(c, method, path, body) {
  let t;
  try {
    t = await c.opts.getToken();
  } catch (e) {
    throw failure("token-error", { detail: String(e?.message || e) });
  }
  if (!t) throw failure("no-token");
  const init = { method, headers: { Authorization: `Bearer ${t}` }, cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(c.api + path, init);
  } catch {
    throw failure("network");
  }
  if (!res.ok) throw await httpFailure(res);
  if (res.status === 204) return null;
  try {
    return await res.json();
  } catch {
    return null;
  }
}

// parseJSON parses text (a response or an event's data), or returns null.
export function parseJSON(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
