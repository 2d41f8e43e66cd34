// The stream's live events over a WebSocket, reconnecting with capped, jittered backoff.
// Events are fire-and-forget on the server side: after every (re)connection the page
// re-reads the state from the API (`onOpen`), so nothing missed while away stays missed.

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;

export class EventSocket {
  /**
   * @param {object} opts
   * @param {(streamId: string) => string} opts.url  the socket URL for a stream
   * @param {(event: object) => void} opts.onEvent   each `{type, streamId, data}` message
   * @param {(reconnected: boolean) => void} opts.onOpen  after each successful connection
   * @param {(state: string, detail?: object) => void} opts.onState
   *   `connecting | open | reconnecting | closed`; `reconnecting` carries `{delayMs, attempt}`
   */
  constructor({ url, onEvent, onOpen, onState }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onOpen = onOpen;
    this.onState = onState;
    this.ws = null;
    this.streamId = null;
    this.wanted = false;
    this.attempt = 0;
    this.opened = false;
    this.timer = null;
    this.retryNow = () => {
      if (this.wanted && !this.ws) this.#open();
    };
    window.addEventListener("online", this.retryNow);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.retryNow();
    });
  }

  /** Follows `streamId`'s events (closing the previous stream's socket). */
  connect(streamId) {
    this.close();
    this.streamId = streamId;
    this.wanted = true;
    this.attempt = 0;
    this.opened = false;
    this.#open();
  }

  /** Stops following; no reconnection. */
  close() {
    this.wanted = false;
    clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000, "bye");
    this.onState("closed");
  }

  #open() {
    clearTimeout(this.timer);
    this.timer = null;
    let ws;
    try {
      ws = new WebSocket(this.url(this.streamId));
    } catch {
      this.#scheduleRetry();
      return;
    }
    this.ws = ws;
    this.onState("connecting");
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      const reconnected = this.opened;
      this.opened = true;
      this.attempt = 0;
      this.onState("open");
      this.onOpen(reconnected);
    });
    ws.addEventListener("message", (m) => {
      if (this.ws !== ws || typeof m.data !== "string") return;
      let event;
      try {
        event = JSON.parse(m.data);
      } catch {
        return;
      }
      if (event && typeof event.type === "string") this.onEvent(event);
    });
    ws.addEventListener("close", (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.wanted) this.#scheduleRetry(e);
    });
  }

  #scheduleRetry(closeEvent) {
    const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.attempt);
    const delayMs = Math.round(base / 2 + Math.random() * (base / 2));
    this.attempt += 1;
    this.onState("reconnecting", {
      delayMs,
      attempt: this.attempt,
      code: closeEvent ? closeEvent.code : 0,
      reason: closeEvent ? closeEvent.reason : "",
    });
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.wanted && !this.ws) this.#open();
    }, delayMs);
  }
}
