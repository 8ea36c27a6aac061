// Unit tests of notifications.js's pure parts, run in the real browser by
// unit_test.go. Results land in window.unitResults.
import { backoffDelay, createPositionStore, createSeen, createSSEParser, userFromToken } from "/client/notifications.js";

const results = { passed: 0, failed: [] };
function check(name, cond, detail = "") {
  if (cond) results.passed++;
  else results.failed.push(`${name} ${detail}`);
}

// backoffDelay: within [0, cap), cap doubles from base to max, jitter spreads.
const fixed = (v) => () => v;
check("attempt 0 max", backoffDelay(0, { baseMs: 500, maxMs: 30000 }, fixed(0.999999)) === 499);
check("attempt 3 max", backoffDelay(3, { baseMs: 500, maxMs: 30000 }, fixed(0.999999)) === 3999);
check("capped", backoffDelay(20, { baseMs: 500, maxMs: 30000 }, fixed(0.999999)) === 29999);
check("huge attempt", backoffDelay(5000, { baseMs: 500, maxMs: 30000 }, fixed(0.5)) === 15000);
check("zero", backoffDelay(4, {}, fixed(0)) === 0);
check("default base 1 s", backoffDelay(0, {}, fixed(0.999999)) === 999);
const spread = new Set(Array.from({ length: 200 }, () => backoffDelay(6)));
check("jitter spreads", spread.size > 150, `distinct ${spread.size}`);
check("defaults", Array.from({ length: 200 }, () => backoffDelay(100)).every((d) => d >= 0 && d < 30000));

// createSSEParser: fields, multi-line data, CRLF/CR, chunk boundaries anywhere,
// comments, retry, ids that persist, frames without id.
function parse(chunks) {
  const out = { events: [], comments: [], retries: [] };
  const p = createSSEParser({
    onEvent: (e) => out.events.push(e),
    onComment: (c) => out.comments.push(c),
    onRetry: (ms) => out.retries.push(ms),
  });
  for (const c of chunks) p.push(c);
  return out;
}
const stream = "retry: 2000\n\n: ok\n\nid: a\nevent: video_complete\ndata: {\"x\":1}\n\n: ping\n\nevent: read\ndata: {\"all\":true}\n\nid: v2:opaque|7\nevent: announcement\ndata: line1\ndata: line2\n\n";
const whole = parse([stream]);
check("sse events", whole.events.length === 3, JSON.stringify(whole.events));
check("sse retry", whole.retries.join() === "2000");
check("sse comments", whole.comments.join() === "ok,ping");
check("sse typed", whole.events[0].type === "video_complete" && whole.events[0].id === "a" && whole.events[0].hasId);
check("sse no id line is no position", whole.events[1].type === "read" && !whole.events[1].hasId && whole.events[1].id === "a");
check("sse opaque id kept verbatim", whole.events[2].id === "v2:opaque|7");
check("sse multi-line data", whole.events[2].data === "line1\nline2");
const bytewise = parse([...stream]);
check("sse one char per chunk", JSON.stringify(bytewise.events) === JSON.stringify(whole.events));
const crlf = parse([stream.replace(/\n/g, "\r\n").slice(0, 37), stream.replace(/\n/g, "\r\n").slice(37)]);
check("sse CRLF", JSON.stringify(crlf.events) === JSON.stringify(whole.events));
const cr = parse([...stream.replace(/\n/g, "\r")]);
check("sse CR", JSON.stringify(cr.events) === JSON.stringify(whole.events));
const idOnly = parse(["id: 0-0\n\n"]);
check("sse id-only frame", idOnly.events.length === 1 && !idOnly.events[0].hasData && idOnly.events[0].id === "0-0");
check("sse message default type", parse(["data: x\n\n"]).events[0].type === "message");
check("sse bad retry ignored", parse(["retry: soon\n\n"]).retries.length === 0);
check("sse partial frame waits", parse(["data: x\n"]).events.length === 0);

// createSeen: bounded, forgets the oldest.
const seen = createSeen(3);
["a", "b", "c", "d"].forEach((id) => seen.add(id));
check("seen bounded", !seen.has("a") && seen.has("b") && seen.has("d"));

// createPositionStore: opaque positions, never back, falls back when a storage refuses.
function fakeStorage() {
  const m = new Map();
  return {
    m, full: false, blocked: false,
    getItem(k) { if (this.blocked) throw new Error("blocked"); return m.get(k) ?? null; },
    setItem(k, v) { if (this.blocked || this.full) throw new DOMException("full", "QuotaExceededError"); m.set(k, v); },
    removeItem(k) { if (this.blocked) throw new Error("blocked"); m.delete(k); },
  };
}
const a = fakeStorage();
const b = fakeStorage();
const st = createPositionStore("k", [a, b]);
check("store empty", st.get() === null);
st.record(["n1"], "pos|1");
check("store opaque", st.get().pos === "pos|1");
st.record(["n2"], "pos|2");
st.record(["n1"], "pos|1"); // a slower tab, behind
check("store never back", st.get().pos === "pos|2");
a.full = true;
st.record(["n3"], "pos|3");
check("store full: stale copy removed", !a.m.has("k"));
check("store full: falls back", st.get().pos === "pos|3" && b.m.has("k"));
a.full = false;
st.record(["n4"], "pos|4");
check("store recovers", st.get().pos === "pos|4" && a.m.has("k") && !b.m.has("k"));
a.blocked = true;
b.blocked = true;
let threw = false;
try {
  st.record(["n5"], "pos|5");
  check("store blocked: memory", st.get().pos === "pos|5");
} catch {
  threw = true;
}
check("store blocked never throws", !threw);
const legacy = fakeStorage();
legacy.m.set("k", "1764174645123-0");
check("store reads a bare id", createPositionStore("k", [legacy]).get().pos === "1764174645123-0");
check("store without key", createPositionStore(null, [fakeStorage()]).get() === null);
localStorage.removeItem("unit-k");
createPositionStore("unit-k", [localStorage]).record(["x"], "7-3");
check("localStorage persists", createPositionStore("unit-k", [localStorage]).get().pos === "7-3");

// userFromToken: reads sub (base64url, no padding), tolerates junk.
const enc = (o) => btoa(JSON.stringify(o)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
check("sub", userFromToken(`${enc({ alg: "HS256" })}.${enc({ sub: "student-42?>" })}.sig`) === "student-42?>");
check("claim", userFromToken(`x.${enc({ uid: "u1" })}.y`, "uid") === "u1");
check("junk token", userFromToken("nonsense") === null && userFromToken("") === null);
check("non-string sub", userFromToken(`x.${enc({ sub: 42 })}.y`) === null);

window.unitResults = results;
