// Who is signed in: the tenant token (kept in this tab's sessionStorage), the API client
// bound to it, and the sign-in view. What happens once signed in or out is the page's
// business: it hands in `signedIn(streams)` and `signedOut()`.

import { createApi } from "./api.js";
import { $, act } from "./dom.js";

const TOKEN_KEY = "sm.token";

let token = null;
let hooks = { signedIn: () => {}, signedOut: () => {} };

/** The API client, with the current token; a 401 on a signed-in call signs out. */
export const api = createApi({
  token: () => token,
  onUnauthorized: (err) => {
    if (token) signOut(`Signed out: ${err.message}`);
  },
});

/** The token, for the event socket's URL. */
export function currentToken() {
  return token;
}

/** Wires the sign-in form and the sign-out button; `signedIn` gets the tenant's streams. */
export function setupSession({ signedIn, signedOut }) {
  hooks = { signedIn, signedOut };
  $("signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    act($("signin-submit"), () => signIn($("token-input").value));
  });
  $("sign-out").addEventListener("click", () => signOut());
}

/** Signs in again with the token this tab kept, or shows the sign-in view. */
export function restoreSession() {
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved, { quiet: true });
  else showSignIn();
}

async function signIn(raw, { quiet = false } = {}) {
  const candidate = raw.trim().replace(/^Bearer\s+/i, "");
  const error = $("signin-error");
  error.hidden = true;
  if (!candidate) return;
  token = candidate;
  try {
    const list = await api.get("/streams");
    sessionStorage.setItem(TOKEN_KEY, candidate);
    showApp();
    hooks.signedIn(list.streams);
  } catch (err) {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn();
    if (!quiet || err.status !== 401) {
      error.textContent = err.status === 401 ? `This token was refused: ${err.message}` : err.message;
      error.hidden = false;
    }
  }
}

function signOut(message) {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  hooks.signedOut();
  showSignIn();
  if (message) {
    $("signin-error").textContent = message;
    $("signin-error").hidden = false;
  }
}

function showSignIn() {
  $("app-view").hidden = true;
  $("session").hidden = true;
  $("signin-view").hidden = false;
  $("token-input").value = "";
  $("token-input").focus();
}

function showApp() {
  $("signin-view").hidden = true;
  $("app-view").hidden = false;
  $("session").hidden = false;
  const c = claims(token);
  $("tenant").textContent = c.sub ? `tenant ${c.sub}` : "";
  $("tenant").title = c.exp ? `token expires ${new Date(c.exp * 1000).toLocaleString()}` : "";
}

/** The JWT's claims, for showing who is signed in (the server does the checking). */
function claims(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
  } catch {
    return {};
  }
}
