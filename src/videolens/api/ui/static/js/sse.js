// Server-Sent Events over fetch(): EventSource cannot send the Authorization header, fetch can.

/** Feed text into the parser; returns complete events [{event, data, id}] and keeps the rest in state. */
export function parseSSE(state, text) {
  state.buffer = (state.buffer || "") + text;
  const events = [];
  let end;
  while ((end = state.buffer.match(/\r?\n\r?\n/)) !== null) {
    const block = state.buffer.slice(0, end.index);
    state.buffer = state.buffer.slice(end.index + end[0].length);
    const message = { event: "message", data: "", id: null };
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const name = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (name === "event") message.event = value || "message";
      else if (name === "data") data.push(value);
      else if (name === "id") message.id = value;
      else if (name === "retry" && /^\d+$/.test(value)) state.retry = Number(value);
    }
    if (!data.length) continue;
    message.data = data.join("\n");
    events.push(message);
  }
  return events;
}

/**
 * Follow an SSE path until stop() is called; reconnects after the server's retry delay.
 * onEvent receives {event, data (parsed JSON), id}; onError a thrown error (e.g. ApiError).
 */
export function follow(path, headers, onEvent, onError = () => {}) {
  const controller = new AbortController();
  let stopped = false;
  const run = async () => {
    const state = {};
    while (!stopped) {
      try {
        const response = await fetch(path, { headers, signal: controller.signal });
        if (!response.ok) {
          let problem = {};
          try { problem = await response.json(); } catch { /* not JSON */ }
          onError({ status: response.status, problem });
          if (response.status >= 400 && response.status < 500) return;
        } else {
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            for (const m of parseSSE(state, value)) {
              let data = m.data;
              try { data = JSON.parse(m.data); } catch { /* plain text */ }
              onEvent({ event: m.event, data, id: m.id });
            }
          }
        }
      } catch (error) {
        if (stopped) return;
      }
      await new Promise((r) => setTimeout(r, state.retry || 2000));
    }
  };
  run();
  return { stop() { stopped = true; controller.abort(); } };
}
