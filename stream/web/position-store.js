// Positions and duplicates. Ids are opaque: the client never parses or compares them.
// The resume position is the last `id:` the server sent, in the server's order;
// duplicates are dropped with a set of recently seen notification ids. The position
// and the recently seen ids are kept in localStorage (sessionStorage, then memory, when
// that fails), so a reload resumes where the page left off without showing anything
// twice.

export const RECENT_IDS = 100; // notification ids stored with the position
const SEEN_IDS = 5000; // notification ids remembered per page for dropping duplicates

// createSeen remembers the last limit ids added.
export function createSeen(limit = SEEN_IDS) {
  const set = new Set();
  return {
    has: (id) => set.has(id),
    add(id) {
      if (set.has(id)) return;
      set.add(id);
      if (set.size > limit) set.delete(set.values().next().value);
    },
  };
}

// createPositionStore keeps {pos, ids}: the stream position to resume from and the
// notification ids recorded up to it. storages are tried in order (localStorage, then
// sessionStorage); a storage that refuses a write loses its copy, so a stale position
// can never survive there, and the record lives on in the next one (or in memory).
// A record never moves back: an id already recorded means another tab got further.
export function createPositionStore(key, storages) {
  const list = key ? storages.filter(Boolean) : [];
  let memory = null;
  const parse = (v) => {
    if (typeof v !== "string" || !v) return null;
    try {
      const r = JSON.parse(v);
      if (r && typeof r.pos === "string" && r.pos && Array.isArray(r.ids)) {
        return { pos: r.pos, ids: r.ids.filter((x) => typeof x === "string").slice(-RECENT_IDS) };
      }
    } catch {
      // not JSON: the bare id earlier clients stored (their position and their last id)
    }
    return v.length <= 512 && !/[\r\n]/.test(v) ? { pos: v, ids: [v] } : null;
  };
  const get = () => {
    // A later storage holds a copy only while an earlier one refuses writes: it is newer.
    for (let i = list.length - 1; i >= 0; i--) {
      try {
        const r = parse(list[i].getItem(key));
        if (r) return r;
      } catch {
        // blocked: try the next
      }
    }
    return memory;
  };
  return {
    get,
    record(ids, pos) {
      const cur = get();
      if (cur && ids.length && ids.some((id) => cur.ids.includes(id))) return;
      const rec = { pos, ids: [...(cur ? cur.ids : []), ...ids].slice(-RECENT_IDS) };
      memory = rec;
      const text = JSON.stringify(rec);
      for (let i = 0; i < list.length; i++) {
        try {
          list[i].setItem(key, text);
          for (const later of list.slice(i + 1)) later.removeItem(key);
          return;
        } catch {
          try {
            list[i].removeItem(key);
          } catch {
            // blocked entirely
          }
        }
      }
    },
  };
}

// storage returns globalThis[name] (localStorage, sessionStorage), or null where the
// browser blocks it.
export function storage(name) {
  try {
    const st = globalThis[name];
    st.getItem("vividly-probe"); // throws where storage is blocked
    return st;
  } catch {
    return null;
  }
}
