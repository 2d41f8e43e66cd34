// The control plane's REST API: JSON in, the `{success, data}` envelope out.

/** An error the API answered (or the network failed with); `message` is meant for people. */
export class ApiError extends Error {
  constructor(message, { status = 0, code = "network", field = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/**
 * A client bound to a token source. `onUnauthorized(error)` runs when a signed-in call gets
 * 401 (the token expired or was revoked).
 */
export function createApi({ token, onUnauthorized }) {
  async function request(method, path, body) {
    const headers = { Accept: "application/json" };
    const current = token();
    if (current) headers.Authorization = `Bearer ${current}`;
    const init = { method, headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch {
      throw new ApiError("Cannot reach the control plane. Check your connection and try again.");
    }
    let payload = null;
    const type = response.headers.get("Content-Type") || "";
    if (type.includes("application/json")) {
      try {
        payload = await response.json();
      } catch {
        payload = null;
      }
    }
    if (response.ok && payload && payload.success) return payload.data;
    const err = payload && payload.error;
    const error = new ApiError(
      err && err.message ? sentence(err.message, err.field) : `The server answered ${response.status} ${response.statusText}`.trim(),
      { status: response.status, code: (err && err.code) || "http_error", field: (err && err.field) || null },
    );
    if (response.status === 401 && onUnauthorized) onUnauthorized(error);
    throw error;
  }

  return {
    get: (path) => request("GET", path),
    post: (path, body) => request("POST", path, body),
    patch: (path, body) => request("PATCH", path, body),
    del: (path) => request("DELETE", path),
    /** A raw authorized fetch (for non-JSON resources such as the preview image). */
    fetchRaw(path, init = {}) {
      const headers = new Headers(init.headers || {});
      const current = token();
      if (current) headers.set("Authorization", `Bearer ${current}`);
      return fetch(path, { ...init, headers, cache: "no-store" });
    },
  };
}

/** The API's message, with the field it is about when the message does not already say. */
function sentence(message, field) {
  let text = String(message).trim();
  if (field && field !== "body" && !text.includes(field)) text = `${field}: ${text}`;
  // Field names keep their spelling ("position.x: …"); plain sentences start with a capital.
  if (field && text.startsWith(field)) return text;
  return text.charAt(0).toUpperCase() + text.slice(1);
}
