/**
 * Direct-to-bucket image uploads for the inventory API.
 *
 *   import { uploadImage } from "./direct-upload.js";
 *   const image = await uploadImage(file, { kind: "product", objectId: 42, onProgress });
 *
 * Asks the server for an upload ticket, posts the file straight to the
 * bucket (or the development emulator) with the ticket's form, then asks the
 * server to confirm. No dependencies and no build step: an ES module for
 * browsers, Node >= 20 and React Native. Progress events need
 * XMLHttpRequest (browsers, React Native); elsewhere fetch is used.
 *
 * The SHA-256 of the file goes with the ticket request, so the store refuses
 * any other body. It needs WebCrypto (crypto.subtle); where there is none,
 * uploadImage fails with UploadError code "checksum_unavailable" before
 * anything is sent, unless the caller passes checksum: false.
 */

const DEFAULTS = {
  apiBase: "",
  retries: 4,
  retryDelay: 500, // ms, doubled at each attempt
  offlineWait: 10 * 60 * 1000, // ms to wait for the network to come back
  maxSide: 1600,
  quality: 0.8,
  outputType: null, // WebP where the browser encodes it, else JPEG
};

/** An upload that failed for a reason the user or the app should see. */
export class UploadError extends Error {
  constructor(code, detail, { status = 0, errors = null } = {}) {
    super(detail || code);
    this.name = "UploadError";
    this.code = code;
    this.detail = detail;
    this.status = status;
    this.errors = errors;
  }
}

/**
 * What to tell the user of a failed upload, in the page's words. messages
 * holds the page's own (translated) texts for the failures whose detail is
 * not written for people: network_error, upload_refused, expired (a ticket
 * still expired after uploadImage's renewals, whose detail is the store's
 * English "Policy expired") and failed (an answer that was not the API's
 * JSON, a proxy's error page, with only its status line for detail). The
 * API's own errors carry a detail in the user's language, shown as it is.
 */
export function describeFailure(failure, messages) {
  if (failure.code === "network_error") return messages.network_error;
  if (failure.code === "upload_refused") return messages.upload_refused;
  if (failure.code === "ticket_expired") return messages.expired;
  if (failure.code?.startsWith("http_")) return messages.failed;
  return failure.detail || messages.failed;
}

/**
 * Upload one image and attach it; resolves with the confirm response
 * ({id, status, kind, object_id, key, url, format, width, height, size}).
 *
 * Options:
 *   kind, objectId     what to attach to ("product" and its id, or "logo")
 *   apiBase            origin of the API ("" for the current page's)
 *   token              API token: sent as "Authorization: Token <token>"
 *   csrfToken          CSRF token for session auth; read from the csrftoken
 *                      cookie when omitted in a browser
 *   headers            more headers for API calls, e.g. {"Accept-Language": "fr"}
 *                      (browsers send their own language)
 *   onProgress(event)  {phase: "preparing"|"uploading"|"confirming"|"offline",
 *                      loaded, total}; "offline": waiting for the network
 *   signal             an AbortSignal that cancels the upload
 *   downscale          shrink before upload (default: true for products)
 *   maxSide, quality, outputType   downscale settings (1600, 0.8, and WebP
 *                      where the browser can encode it, else JPEG)
 *   retries, retryDelay            retry policy for network errors and 5xx
 *   offlineWait        how long to wait, in all, for a network the platform
 *                      says is gone (navigator.onLine) to come back before
 *                      failing with network_error; the wait spends no retry
 *                      (default 10 minutes)
 *   resume             the resume of a failed upload's UploadError: try that
 *                      upload again (same options), without preparing the
 *                      file or doing again the steps it had done
 *   checksum           send the file's SHA-256 (default: true); false uploads
 *                      without it where WebCrypto is missing
 *   confirm            false: resolve with the ticket once the file is in the
 *                      store, unconfirmed, for a form whose save confirms it
 *                      (the Django admin's widget); default true
 *   newObject          true: a ticket for an object not created yet (no
 *                      objectId), which only the creating form's save confirms
 *   site               with newObject, the id of the site whose folder the file
 *                      goes to (the API's ?site=): a superuser's choice; anyone
 *                      else's new objects are of their own site whatever it says
 *   fetch, XMLHttpRequest          implementations to use (default: globals)
 */
export async function uploadImage(file, options = {}) {
  const settings = { ...DEFAULTS, ...options };
  if (!settings.kind) throw new TypeError("uploadImage: kind is required");
  const progress = (phase, loaded = 0, total = 0) =>
    settings.onProgress && settings.onProgress({ phase, loaded, total });
  const upload = settings.resume ?? (await prepare(file, settings, progress));
  try {
    return await send(upload, settings, progress);
  } catch (error) {
    if (mayPassLater(error)) error.resume = upload;
    throw error;
  }
}

/**
 * What uploadImage sends: the ticket's path and request, the body, and how
 * far it got (the ticket it holds, whether the body is in the store). A
 * failure that may pass later carries it as its resume, so that trying
 * again neither prepares the photo again nor sends it twice.
 */
async function prepare(file, settings, progress) {
  const { kind, objectId, signal } = settings;
  // Checked first: a missing checksum fails before any work or data is spent.
  const subtle = settings.checksum === false ? null : webCrypto();
  throwIfAborted(signal);
  progress("preparing");
  const downscale = settings.downscale ?? kind === "product";
  const prepared = downscale ? await shrinkImage(file, settings) : file;
  throwIfAborted(signal);
  const bytes = await readBytes(prepared);
  const contentType = prepared.type || file.type;
  const request = {
    kind,
    filename: fileName(prepared),
    content_type: contentType,
    size: bytes.byteLength,
  };
  if (objectId !== undefined && objectId !== null) request.object_id = objectId;
  if (settings.newObject) request.new = true;
  if (subtle) request.sha256 = await sha256Base64(subtle, bytes);
  const body = new Blob([bytes], { type: contentType });
  // Where the ticket is asked for (a superuser's new object names its site):
  // a resumed upload asks there again, whatever options come with it.
  return { path: ticketPath(settings), request, body, ticket: null, stored: false };
}

async function send(upload, settings, progress) {
  throwIfAborted(settings.signal);
  const { request, body } = upload;
  const api = apiClient(settings);
  // The time left to wait for the network: offlineWait for all the steps.
  const offline = { left: settings.offlineWait };
  // Waiting for the network, then back at the step's phase.
  const retrying = (phase, step, retryableCodes) =>
    withRetries(settings, step, retryableCodes, offline, (network) =>
      progress(network === "offline" ? "offline" : phase),
    );
  for (let renewals = 0; ; renewals += 1) {
    // Each step is retried on its own, so that a failed confirm never costs
    // a second upload of the file; only an expired ticket is replaced.
    upload.ticket ??= await retrying("preparing", () =>
      api("POST", upload.path, request),
    );
    try {
      if (!upload.stored) {
        await retrying("uploading", () =>
          postToStorage(upload.ticket.upload, body, request.filename, settings, (loaded, total) =>
            progress("uploading", loaded, total),
          ),
        );
        upload.stored = true;
      }
      progress("uploading", body.size, body.size);
      if (settings.confirm === false) return upload.ticket;
      progress("confirming");
      // upload_missing right after an upload: a store that is slow to list it.
      return await retrying(
        "confirming",
        () => api("POST", `/api/uploads/tickets/${upload.ticket.id}/confirm/`),
        ["upload_missing"],
      );
    } catch (error) {
      // Still missing after the retries: the body never landed; send it
      // again when the upload is resumed.
      if (error?.code === "upload_missing") upload.stored = false;
      if (error?.code !== "ticket_expired") throw error;
      // A new ticket, now or when the upload is resumed: a body posted
      // with the expired one would be sent in full only to be refused.
      upload.ticket = null;
      upload.stored = false;
      if (renewals >= 2) throw error;
    }
  }
}

/* --- Retries ------------------------------------------------------------ */

const RETRYABLE_CODES = ["network_error", "storage_unavailable"];

function retryable(error, extraCodes = []) {
  return (
    error instanceof UploadError &&
    (error.status >= 500 || [...RETRYABLE_CODES, ...extraCodes].includes(error.code))
  );
}

/**
 * Whether a failure may pass if the same upload is tried again later: what
 * the retries gave up on, a limit reached (429), a ticket that expired on a
 * slow link. The user's "Try again" then resumes the upload (its resume).
 */
function mayPassLater(error) {
  return retryable(error, ["ticket_expired", "upload_missing"]) || error?.status === 429;
}

/**
 * ``step()``, tried again on network errors and 5xx answers. A network
 * error while the platform says it is offline (a phone in a dead zone) is
 * not a try: the upload waits for the network to come back, telling
 * ``onNetwork`` ("offline", then "online"), and goes on; ``offline.left``
 * is the upload's time left to wait, which each wait spends.
 */
async function withRetries(settings, step, extraCodes, offline, onNetwork) {
  for (let tries = 0; ; ) {
    try {
      return await step();
    } catch (error) {
      if (!retryable(error, extraCodes)) throw error;
      if (error.code === "network_error" && isOffline()) {
        onNetwork("offline");
        const since = Date.now();
        const back = await waitForNetwork(offline.left, settings.signal);
        offline.left -= Date.now() - since;
        if (!back) throw error;
        onNetwork("online");
        continue;
      }
      if (tries >= settings.retries) throw error;
      const wait = error.retryAfter
        ? error.retryAfter * 1000
        : settings.retryDelay * 2 ** tries * (0.75 + Math.random() / 2);
      tries += 1;
      await sleep(wait, settings.signal);
    }
  }
}

/** Whether the platform knows it has no network (browsers; unknown elsewhere). */
function isOffline() {
  return globalThis.navigator?.onLine === false;
}

/** Resolves true when the network is back, false after ``ms``. */
function waitForNetwork(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    if (!isOffline()) return resolve(true);
    if (ms <= 0) return resolve(false);
    const done = (result) => {
      clearTimeout(timer);
      globalThis.removeEventListener?.("online", online);
      signal?.removeEventListener("abort", aborted);
      result instanceof Error ? reject(result) : resolve(result);
    };
    const online = () => done(true);
    const aborted = () => done(abortError());
    const timer = setTimeout(() => done(false), ms);
    globalThis.addEventListener?.("online", online);
    signal?.addEventListener("abort", aborted, { once: true });
  });
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(abortError());
      },
      { once: true },
    );
  });
}

function abortError() {
  return typeof DOMException === "function"
    ? new DOMException("The upload was cancelled.", "AbortError")
    : Object.assign(new Error("The upload was cancelled."), { name: "AbortError" });
}

function throwIfAborted(signal) {
  if (signal?.aborted) throw abortError();
}

/* --- The API ------------------------------------------------------------ */

function ticketPath({ newObject, site }) {
  const path = "/api/uploads/tickets/";
  if (!newObject || site === undefined || site === null) return path;
  return `${path}?site=${encodeURIComponent(site)}`;
}

function apiClient(settings) {
  const fetchImpl = settings.fetch || globalThis.fetch;
  return async function call(method, path, data) {
    const headers = { Accept: "application/json", ...settings.headers };
    if (data !== undefined) headers["Content-Type"] = "application/json";
    if (settings.token) headers.Authorization = `Token ${settings.token}`;
    const csrf = settings.csrfToken ?? cookie("csrftoken");
    if (csrf && !settings.token) headers["X-CSRFToken"] = csrf;
    let response;
    try {
      response = await fetchImpl(settings.apiBase + path, {
        method,
        headers,
        body: data === undefined ? undefined : JSON.stringify(data),
        credentials: "same-origin",
        signal: settings.signal,
      });
    } catch (error) {
      if (error?.name === "AbortError") throw error;
      throw new UploadError("network_error", error?.message || "Network error");
    }
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      // Cancelled while the answer was read: never go on with half of it.
      if (error?.name === "AbortError") throw error;
    }
    throwIfAborted(settings.signal);
    if (response.ok && body) return body;
    const error = new UploadError(
      body?.code || `http_${response.status}`,
      body?.detail || response.statusText,
      { status: response.status, errors: body?.errors },
    );
    const retryAfter = Number(response.headers.get("Retry-After"));
    if (retryAfter > 0) error.retryAfter = Math.min(retryAfter, 60);
    throw error;
  };
}

function cookie(name) {
  if (typeof document === "undefined" || !document.cookie) return null;
  const match = document.cookie.split(/;\s*/).find((part) => part.startsWith(`${name}=`));
  return match ? decodeURIComponent(match.slice(name.length + 1)) : null;
}

/* --- The storage POST --------------------------------------------------- */

function postToStorage(upload, body, filename, settings, onProgress) {
  const form = new FormData();
  for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
  form.append("file", body, filename); // last: S3 ignores fields after the file
  const XHR = settings.XMLHttpRequest || globalThis.XMLHttpRequest;
  return XHR
    ? postWithXhr(XHR, upload.url, form, settings.signal, onProgress)
    : postWithFetch(settings.fetch || globalThis.fetch, upload.url, form, settings.signal);
}

function postWithXhr(XHR, url, form, signal, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XHR();
    xhr.open("POST", url);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(storageError(xhr.status, xhr.responseText));
    };
    xhr.onerror = () => reject(new UploadError("network_error", "The upload was interrupted."));
    xhr.onabort = () => reject(abortError());
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}

async function postWithFetch(fetchImpl, url, form, signal) {
  let response;
  try {
    response = await fetchImpl(url, { method: "POST", body: form, signal });
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    throw new UploadError("network_error", error?.message || "Network error");
  }
  if (!response.ok) throw storageError(response.status, await response.text());
}

/** The store answers in S3's XML: an expired policy means a new ticket. */
function storageError(status, text) {
  const code = /<Code>([^<]*)<\/Code>/.exec(text || "")?.[1] || `http_${status}`;
  const message = /<Message>([^<]*)<\/Message>/.exec(text || "")?.[1] || "";
  if (/expired/i.test(message)) return new UploadError("ticket_expired", message, { status });
  return new UploadError("upload_refused", `${code}: ${message}`.trim(), { status });
}

/* --- Preparing the file ------------------------------------------------- */

async function readBytes(blob) {
  return blob.arrayBuffer ? blob.arrayBuffer() : new Response(blob).arrayBuffer();
}

function fileName(file) {
  return file.name || "image";
}

/**
 * WebCrypto's digest functions. Never done without quietly: without a
 * checksum the store takes any body of the declared size, so only the
 * caller may decide to go without (checksum: false).
 */
function webCrypto() {
  const subtle = globalThis.crypto?.subtle;
  if (subtle) return subtle;
  throw new UploadError(
    "checksum_unavailable",
    "WebCrypto (crypto.subtle) is not available here, so the file's SHA-256 cannot be " +
      "computed. Browsers have it only on secure pages (https://, or http://localhost); " +
      "Node 20 and later have it. Pass checksum: false to upload without the checksum.",
  );
}

/** Base64 SHA-256 of the bytes. */
async function sha256Base64(subtle, bytes) {
  const digest = new Uint8Array(await subtle.digest("SHA-256", bytes));
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * A smaller copy of a photo: longest side at most maxSide, EXIF orientation
 * applied, and re-encoded, which drops its metadata (GPS position, camera).
 * It is encoded as outputType: by default WebP where the browser really
 * encodes it (see encodesWebP), else JPEG; WebP asked for where it cannot
 * be had gives JPEG too. The file is returned as it is when it is already
 * small enough and carries no EXIF block, or where the platform cannot
 * decode it (Node, or a file that is not an image: the server then says why
 * it is refused).
 */
export async function shrinkImage(
  file,
  { maxSide = DEFAULTS.maxSide, quality = DEFAULTS.quality, outputType = DEFAULTS.outputType } = {},
) {
  if (typeof createImageBitmap !== "function" || !/^image\/(jpeg|png|webp)$/.test(file.type)) {
    return file;
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return file; // not decodable here: the server will say what is wrong with it
  }
  try {
    const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
    if (scale === 1 && !(await hasExif(file))) return file;
    const width = Math.round(bitmap.width * scale);
    const height = Math.round(bitmap.height * scale);
    const wanted = outputType ?? "image/webp";
    const type = wanted === "image/webp" && !(await encodesWebP()) ? "image/jpeg" : wanted;
    const blob = await drawToBlob(bitmap, width, height, type, quality);
    // Named and typed after what the encoder made, which the ticket declares.
    const extension = { "image/webp": ".webp", "image/png": ".png" }[blob.type] ?? ".jpg";
    const name = fileName(file).replace(/\.[^.]*$/, "") + extension;
    return new File([blob], name, { type: blob.type });
  } finally {
    bitmap.close?.();
  }
}

/** The canvas of the platform: OffscreenCanvas where there is one. */
function newCanvas(width, height) {
  if (typeof OffscreenCanvas === "function") return new OffscreenCanvas(width, height);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

function canvasToBlob(canvas, type, quality) {
  if (canvas.convertToBlob) return canvas.convertToBlob({ type, quality });
  return new Promise((resolve) => canvas.toBlob(resolve, type, quality));
}

async function drawToBlob(bitmap, width, height, type, quality) {
  const canvas = newCanvas(width, height);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, width, height);
  return canvasToBlob(canvas, type, quality);
}

// One answer per canvas implementation (in practice, per page).
const webpSupport = new WeakMap();

/**
 * Whether this browser really encodes WebP. Asked for "image/webp", some
 * (Safari before 17, older Firefox) silently give a PNG, which for a photo
 * is larger than the original: only the type of the blob tells. A 1-pixel
 * canvas is encoded once, and the answer kept.
 */
function encodesWebP() {
  const key = typeof OffscreenCanvas === "function" ? OffscreenCanvas : globalThis.document;
  if (!key) return Promise.resolve(false);
  if (!webpSupport.has(key)) {
    const canvas = newCanvas(1, 1);
    canvas.getContext("2d"); // OffscreenCanvas encodes nothing without a context
    const probe = canvasToBlob(canvas, "image/webp", 0.8).then(
      (blob) => blob?.type === "image/webp",
      () => false,
    );
    webpSupport.set(key, probe);
  }
  return webpSupport.get(key);
}

/** Whether a JPEG carries an EXIF block (APP1 "Exif") in its header. */
async function hasExif(file) {
  if (file.type !== "image/jpeg") return false;
  const head = new Uint8Array(await readBytes(file.slice(0, 64 * 1024)));
  for (let i = 2; i + 10 < head.length; ) {
    if (head[i] !== 0xff) return false;
    const marker = head[i + 1];
    const length = (head[i + 2] << 8) | head[i + 3];
    if (marker === 0xe1 && String.fromCharCode(...head.slice(i + 4, i + 8)) === "Exif") return true;
    if (marker === 0xda) return false; // start of scan: no more metadata
    i += 2 + length;
  }
  return false;
}
