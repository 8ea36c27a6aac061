import { connect } from "https://notifications.vividly.example/client/notifications.js";

const handle = connect({
  baseUrl: "https://notifications.vividly.example",   // the stream service
  getToken: () => auth.currentJwt(),                   // your app's JWT (a cached one is fine); null when signed out
  onHistory: (list) => setItems(list),                 // the list to show, oldest first; again after a reset
  onNotification: (n) => { addItem(n); toast(n); },    // each new notification once, in order, of any type
  onStatus: (s) => {
    setConnection(s.state, s.reason);                  // waiting|connecting|open|reconnecting|unauthorized|closed
    if (s.state === "unauthorized") showSignIn();      // once signed in again: handle.reconnect()
  },
});
// on logout or unmount: handle.close();
