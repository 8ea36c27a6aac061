// Unit checks of read-state.js's inbox ops, run by read_state_test.go with node
// against the embedded modules. Prints "ok N" or the failures, exits 1 on any.
import { applyInbox, applyRead, markUnread, setUnread } from "./read-state.js";

const failed = [];
let passed = 0;
const check = (name, ok) => (ok ? passed++ : failed.push(name));

const requests = [];
let historyUnread = 0;
globalThis.fetch = async (url, init) => {
  requests.push({ url: String(url), method: init.method, body: init.body ?? null });
  if (init.method === "POST") return new Response(null, { status: 204 });
  return Response.json({ notifications: [], unread: historyUnread });
};

const got = [];
const c = {
  api: "http://stream.test/api/v1/notifications",
  historyLimit: 50,
  closed: false,
  opts: { getToken: () => "tok", onUnread: (n) => got.push(["unread", n]), onInbox: (d) => got.push(["inbox", d]) },
};
const sess = { user: "u", seen: new Set(["a", "b", "c"]), unreadIds: new Set(), outside: 0, dead: false, channel: null };
c.s = sess;
const count = () => sess.unreadIds.size + sess.outside;
const shown = [{ id: "a" }, { id: "b" }, { id: "c" }];

// a page of three, one older unread outside it; then everything read
setUnread(sess, shown, shown, 4);
check("start: 3 shown + 1 outside", count() === 4);
applyRead(c, sess, { all: true });
check("read all: 0", count() === 0);

// op unread of a shown id: back in the count, once however often it comes
got.length = 0;
applyInbox(c, sess, { op: "unread", ids: ["b"] });
applyInbox(c, sess, { op: "unread", ids: ["b"] });
check("unread b: count 1", count() === 1 && sess.unreadIds.has("b"));
check("unread b: onUnread(1) once", got.filter((g) => g[0] === "unread").length === 1 && got.some((g) => g[0] === "unread" && g[1] === 1));
check("unread b: onInbox twice", got.filter((g) => g[0] === "inbox" && g[1].op === "unread").length === 2);
check("unread of shown ids: no request", requests.length === 0);

// seen and archive change no read state, but reach the app
got.length = 0;
applyInbox(c, sess, { op: "seen", all: true });
applyInbox(c, sess, { op: "archive", ids: ["a"] });
check("seen/archive: count unchanged", count() === 1);
check("seen/archive: onInbox", got.length === 2 && got[0][1].op === "seen" && got[1][1].op === "archive");

// a read of b after it takes it out again
applyRead(c, sess, { ids: ["b"] });
check("read b again: 0", count() === 0);

// an id this page does not show: the count is re-read from the server, not guessed
historyUnread = 1;
applyInbox(c, sess, { op: "unread", ids: ["older"] });
await new Promise((r) => setTimeout(r, 0));
await new Promise((r) => setTimeout(r, 0));
check("unread of an id not shown: one history request", requests.length === 1 && requests[0].method === "GET");
check("unread of an id not shown: the server's count", count() === 1 && sess.outside === 1);

// malformed data changes nothing and calls nothing
got.length = 0;
for (const d of [null, "x", {}, { op: 1 }, { op: "unread" }, { op: "unread", ids: "a" }]) applyInbox(c, sess, d);
check("malformed: nothing", got.length === 0 && count() === 1);

// markUnread: the page at once, then POST …/unread with the ids, deduplicated
requests.length = 0;
await markUnread(c, ["c", "c", "a"]);
check("markUnread: shown ids unread at once", sess.unreadIds.has("a") && sess.unreadIds.has("c") && count() === 3);
check(
  "markUnread: POST /unread {ids}",
  requests.length === 1 && requests[0].method === "POST" && requests[0].url.endsWith("/api/v1/notifications/unread") &&
    requests[0].body === JSON.stringify({ ids: ["c", "a"] }),
);

if (failed.length) {
  console.log("FAILED:\n" + failed.join("\n"));
  process.exit(1);
}
console.log(`ok ${passed}`);
