// Failures. Every error the client acts on is an Error with a kind ("network", "http",
// "no-token", "aborted", …) and details; backoff.js decides what each one means.

export const failure = (kind, extra = {}) => Object.assign(new Error(kind), { kind, ...extra });

// httpFailure turns a refused response into a failure with its status, the server's
// error text and its Retry-After in ms (null without one).
export async function httpFailure(res) {
  let detail = "";
  try {
    detail = String((await res.json()).error || "");
  } catch {
    // no JSON body
  }
  const ra = res.headers.get("Retry-After");
  let retryAfterMs = null;
  if (ra && /^\d+$/.test(ra)) retryAfterMs = Number(ra) * 1000;
  else if (ra && !Number.isNaN(Date.parse(ra))) retryAfterMs = Math.max(0, Date.parse(ra) - Date.now());
  return failure("http", { status: res.status, retryAfterMs, detail });
}
