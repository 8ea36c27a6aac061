// n clients of n different students in one page, each its own connect() holding its
// own stream (shareAcrossTabs: false, so that clients before issue 18, whose tab
// election ignored the user, can be measured the same way), spread over the origins in
// bases so the browser's six connections per origin do not queue them. window.spread.opens[i] lists when client i
// reported "open" (Date.now()); attempts[i] its reconnect attempts.
import { connect } from "/client/real.js";

const q = new URLSearchParams(location.search);
const n = Number(q.get("n"));
const bases = JSON.parse(q.get("bases"));
window.spread = { opens: [], attempts: [], delays: [], last: [] };
for (let i = 0; i < n; i++) {
  const user = `spread-${i}`;
  let token = null;
  spread.opens[i] = [];
  spread.attempts[i] = 0;
  spread.delays[i] = [];
  connect({
    baseUrl: bases[i % bases.length],
    shareAcrossTabs: false,
    getToken: async () => (token ||= (await (await fetch(`/token?user=${user}&ttl=1h`)).json()).token),
    onStatus: (s) => {
      spread.last[i] = `${s.state} ${s.reason} ${s.detail || ""}`;
      if (s.state === "open") spread.opens[i].push(Date.now());
      if (s.state === "reconnecting") {
        spread.attempts[i]++;
        spread.delays[i].push(s.delayMs);
      }
    },
  });
}
