// Unit tests of notifications.js's pure logic, run in the real browser by
// unit_test.go. Results land in window.unitResults.
import { backoffDelay, compareIds, createCursor, createIdStore, userFromToken } from "/client/notifications.js";

const results = { passed: 0, failed: [] };
function check(name, cond, detail = "") {
  if (cond) results.passed++;
  else results.failed.push(`${name} ${detail}`);
}

// compareIds: numeric, not lexical; seq breaks ties; junk sorts first.
check("ms numeric", compareIds("9-0", "10-0") < 0);
check("seq", compareIds("10-2", "10-10") < 0);
check("equal", compareIds("1764174645123-0", "1764174645123-0") === 0);
check("beyond 2^53", compareIds("18446744073709551615-0", "18446744073709551614-9") > 0);
check("junk first", compareIds("banana", "0-0") < 0 && compareIds("0-0", "") > 0);
check("junk equal", compareIds(null, "x") === 0);

// backoffDelay: within [0, cap), cap doubles from base to max, jitter spreads.
const fixed = (v) => () => v;
check("attempt 0 max", backoffDelay(0, { baseMs: 500, maxMs: 30000 }, fixed(0.999999)) === 499);
check("attempt 3 max", backoffDelay(3, { baseMs: 500, maxMs: 30000 }, fixed(0.999999)) === 3999);
check("capped", backoffDelay(20, { baseMs: 500, maxMs: 30000 }, fixed(0.999999)) === 29999);
check("huge attempt", backoffDelay(5000, { baseMs: 500, maxMs: 30000 }, fixed(0.5)) === 15000);
check("zero", backoffDelay(4, {}, fixed(0)) === 0);
const spread = new Set(Array.from({ length: 200 }, () => backoffDelay(6)));
check("jitter spreads", spread.size > 150, `distinct ${spread.size}`);
check("defaults", Array.from({ length: 200 }, () => backoffDelay(100)).every((d) => d >= 0 && d < 30000));

// createIdStore: forward only, ignores junk, survives a throwing storage.
const mem = new Map();
const storage = { getItem: (k) => mem.get(k) ?? null, setItem: (k, v) => mem.set(k, v) };
const store = createIdStore(storage, "k");
check("empty", store.get() === null);
store.advance("5-0");
store.advance("4-9");
check("never back", store.get() === "5-0");
store.advance("not-an-id");
check("junk ignored", store.get() === "5-0");
store.advance("5-1");
check("forward", store.get() === "5-1" && mem.get("k") === "5-1");
mem.set("k", "garbage");
check("garbage read as empty", store.get() === null);
const broken = createIdStore({ getItem() { throw new Error("blocked"); }, setItem() { throw new Error("full"); } }, "k");
let threw = false;
try { broken.advance("1-0"); check("blocked storage read", broken.get() === null); } catch { threw = true; }
check("blocked storage never throws", !threw);
// Real localStorage, shared by tabs: the persisted id survives a new store object.
localStorage.removeItem("unit-k");
createIdStore(localStorage, "unit-k").advance("7-3");
check("localStorage persists", createIdStore(localStorage, "unit-k").get() === "7-3");

// createCursor: drops what is not after the last accepted id.
const cur = createCursor("10-0");
check("older dropped", !cur.accept("9-5"));
check("same dropped", !cur.accept("10-0"));
check("newer accepted", cur.accept("10-1") && cur.get() === "10-1");
check("replayed dropped", !cur.accept("10-1"));
const fresh = createCursor(null);
check("first accepted", fresh.accept("1-0"));

// userFromToken: reads sub (base64url, no padding), tolerates junk.
const enc = (o) => btoa(JSON.stringify(o)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
check("sub", userFromToken(`${enc({ alg: "HS256" })}.${enc({ sub: "student-42?>" })}.sig`) === "student-42?>");
check("claim", userFromToken(`x.${enc({ uid: "u1" })}.y`, "uid") === "u1");
check("junk token", userFromToken("nonsense") === null && userFromToken("") === null);
check("non-string sub", userFromToken(`x.${enc({ sub: 42 })}.y`) === null);

window.unitResults = results;
