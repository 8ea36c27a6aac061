// Parsing text/event-stream. The client reads the stream with fetch() rather than
// EventSource (see notifications.js), so it parses the frames itself.

// createSSEParser parses a text/event-stream body fed in chunks (WHATWG HTML §9.2.6).
// onEvent gets {type, data, id, hasId, hasData} at each blank line: id is the last
// event id so far, hasId whether this frame set it (a frame without an id: line, such
// as `event: read`, is no position). onComment gets comment lines (`: ping`), onRetry
// the reconnection time in ms.
export function createSSEParser({ onEvent, onComment = () => {}, onRetry = () => {} }) {
  let buf = "";
  let data = [];
  let type = "";
  let lastId = "";
  let hasId = false;
  const field = (line) => {
    if (line === "") {
      if (data.length || hasId) onEvent({ type: type || "message", data: data.join("\n"), id: lastId, hasId, hasData: data.length > 0 });
      data = [];
      type = "";
      hasId = false;
      return;
    }
    if (line[0] === ":") return onComment(line.slice(1).trim());
    const i = line.indexOf(":");
    const name = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? "" : line.slice(i + 1);
    if (value[0] === " ") value = value.slice(1);
    if (name === "data") data.push(value);
    else if (name === "event") type = value;
    else if (name === "id" && !value.includes("\0")) {
      lastId = value;
      hasId = true;
    } else if (name === "retry" && /^\d+$/.test(value)) onRetry(Number(value));
  };
  let skipLF = false; // the previous chunk ended with CR: an LF starting this one belongs to it
  return {
    push(chunk) {
      if (!chunk) return;
      if (skipLF && chunk[0] === "\n") chunk = chunk.slice(1);
      skipLF = false;
      buf += chunk;
      let start = 0;
      for (let i = 0; i < buf.length; i++) {
        const c = buf.charCodeAt(i);
        if (c !== 10 && c !== 13) continue;
        field(buf.slice(start, i));
        if (c === 13 && i + 1 === buf.length) skipLF = true;
        else if (c === 13 && buf.charCodeAt(i + 1) === 10) i++;
        start = i + 1;
      }
      buf = buf.slice(start);
    },
  };
}
