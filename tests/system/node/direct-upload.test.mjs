// The upload module's logic in Node (fetch, no XMLHttpRequest), against a
// live server started by tests/system/node/test_node_client.py (see live-server.mjs).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";

import {
  UploadError,
  describeFailure,
  uploadImage,
} from "../../../frontend_snippets/direct-upload.js";
import { jpeg, options, product, spyFetch, text } from "./live-server.mjs";

test("uploads, confirms and reports each phase", async () => {
  const phases = new Set();
  const image = await uploadImage(jpeg, {
    ...product,
    onProgress: ({ phase }) => phases.add(phase),
  });
  assert.equal(image.status, "confirmed");
  assert.equal(image.kind, "product");
  assert.equal(image.object_id, product.objectId);
  assert.equal(image.format, "jpeg");
  assert.deepEqual([image.width, image.height], [320, 240]);
  assert.match(image.key, /^media\/sites\/\d+\/products\/[0-9a-f]{32}\.jpg$/);
  assert.deepEqual([...phases], ["preparing", "uploading", "confirming"]);
  const served = await fetch(image.url);
  assert.equal(served.status, 200);
  assert.deepEqual(Buffer.from(await served.arrayBuffer()), Buffer.from(await jpeg.arrayBuffer()));
});

test("an API error rejects with its code and detail", async () => {
  const english = { headers: { "Accept-Language": "en" } };
  await assert.rejects(uploadImage(text, { ...product, ...english }), (error) => {
    assert.ok(error instanceof UploadError);
    assert.equal(error.code, "invalid_image");
    assert.equal(error.status, 422);
    assert.equal(error.detail, "The file is not a JPEG, PNG or WebP image, or it is damaged.");
    return true;
  });
  // Without a language, the server's default: French.
  await assert.rejects(uploadImage(text, product), {
    detail: "Le fichier n'est pas une image JPEG, PNG ou WebP, ou il est endommagé.",
  });
  await assert.rejects(uploadImage(jpeg, { ...options, kind: "logo" }), {
    name: "UploadError",
    code: "permission_denied",
    status: 403,
  });
  await assert.rejects(uploadImage(jpeg, { ...options, kind: "product", objectId: 999999 }), {
    code: "not_found",
  });
});

test("describeFailure shows the API's detail, and the page's words where it has none for people", async () => {
  const messages = {
    network_error: "Pas de réseau.",
    upload_refused: "Le stockage a refusé le fichier.",
    expired: "Le délai est passé.",
    failed: "L'envoi a échoué.",
  };
  const refused = await uploadImage(text, product).catch((error) => error);
  assert.equal(describeFailure(refused, messages), refused.detail);
  assert.equal(describeFailure(new UploadError("network_error", "fetch failed"), messages), messages.network_error);
  assert.equal(describeFailure(new UploadError("upload_refused", "AccessDenied: x"), messages), messages.upload_refused);
  assert.equal(describeFailure(new UploadError("ticket_expired", "Policy expired"), messages), messages.expired);
  assert.equal(describeFailure(new UploadError("http_502", "Bad Gateway"), messages), messages.failed);
  assert.equal(describeFailure(new UploadError("throttled", ""), messages), messages.failed);
});

test("network errors are retried without asking for a new ticket", async () => {
  const spy = spyFetch((kind, count) => {
    if (kind === "storage" && count <= 2) throw new TypeError("fetch failed");
  });
  const image = await uploadImage(jpeg, { ...product, fetch: spy.fetch });
  assert.equal(image.status, "confirmed");
  assert.deepEqual(spy.calls, { ticket: 1, storage: 3, confirm: 1 });
});

test("storage_unavailable at confirm is retried without uploading again", async () => {
  const spy = spyFetch((kind, count) => {
    if (kind === "confirm" && count === 1) {
      return new Response(JSON.stringify({ code: "storage_unavailable", detail: "down" }), {
        status: 503,
        headers: { "Content-Type": "application/json" },
      });
    }
  });
  const image = await uploadImage(jpeg, { ...product, fetch: spy.fetch });
  assert.equal(image.status, "confirmed");
  assert.deepEqual(spy.calls, { ticket: 1, storage: 1, confirm: 2 });
});

test("an expired ticket is replaced by a new one", async () => {
  const expired =
    '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy expired.</Message></Error>';
  const spy = spyFetch((kind, count) => {
    if (kind === "storage" && count === 1) return new Response(expired, { status: 403 });
  });
  const image = await uploadImage(jpeg, { ...product, fetch: spy.fetch });
  assert.equal(image.status, "confirmed");
  assert.deepEqual(spy.calls, { ticket: 2, storage: 2, confirm: 1 });
});

test("other refusals by the store are not retried", async () => {
  const denied = "<Error><Code>AccessDenied</Code><Message>Policy Condition failed</Message></Error>";
  const spy = spyFetch((kind) => (kind === "storage" ? new Response(denied, { status: 403 }) : null));
  await assert.rejects(
    uploadImage(jpeg, { ...product, fetch: spy.fetch }),
    { code: "upload_refused", status: 403 },
  );
  assert.deepEqual(spy.calls, { ticket: 1, storage: 1, confirm: 0 });
});

test("an AbortSignal cancels the upload", async () => {
  const already = AbortSignal.abort();
  await assert.rejects(uploadImage(jpeg, { ...product, signal: already }), {
    name: "AbortError",
  });

  const controller = new AbortController();
  const spy = spyFetch((kind, count, url, init) => {
    if (kind !== "storage") return null;
    controller.abort();
    return fetch(url, init); // the aborted signal makes fetch reject
  });
  await assert.rejects(
    uploadImage(jpeg, { ...product, signal: controller.signal, fetch: spy.fetch }),
    { name: "AbortError" },
  );
  assert.equal(spy.calls.confirm, 0);
});

test("cancelling while an answer is read stops there", async () => {
  const controller = new AbortController();
  const spy = spyFetch((kind) => {
    if (kind !== "ticket") return null;
    controller.abort();
    return {
      ok: true,
      status: 201,
      headers: new Headers(),
      json: () => Promise.reject(new DOMException("The operation was aborted.", "AbortError")),
    };
  });
  await assert.rejects(
    uploadImage(jpeg, { ...product, signal: controller.signal, fetch: spy.fetch }),
    { name: "AbortError" },
  );
  assert.deepEqual(spy.calls, { ticket: 1, storage: 0, confirm: 0 });
});

test("the SHA-256 goes with the ticket and pins the body, unless checksum: false", async () => {
  const sha256 = createHash("sha256").update(Buffer.from(await jpeg.arrayBuffer())).digest("base64");
  const spy = spyFetch();
  assert.equal((await uploadImage(jpeg, { ...product, fetch: spy.fetch })).status, "confirmed");
  assert.equal(
    (await uploadImage(jpeg, { ...product, checksum: false, fetch: spy.fetch })).status,
    "confirmed",
  );
  const [pinned, unpinned] = spy.tickets;
  assert.equal(pinned.request.sha256, sha256);
  assert.equal(pinned.answer.upload.fields["x-amz-checksum-sha256"], sha256);
  assert.ok(!("sha256" in unpinned.request));
  assert.ok(!("x-amz-checksum-sha256" in unpinned.answer.upload.fields));
});

/* --- Encoding, with a browser's canvas stood in for ---------------------- */

/**
 * createImageBitmap and OffscreenCanvas as a browser has them, decoding any
 * file as a 4000×3000 photo; `webp: false` answers a request for WebP with
 * a PNG, as Safari before 17 does. Records what was encoded.
 */
function fakeBrowser(t, { webp }) {
  const encoded = [];
  class FakeCanvas {
    constructor(width, height) {
      Object.assign(this, { width, height });
    }
    getContext() {
      return { drawImage() {} };
    }
    async convertToBlob({ type, quality }) {
      encoded.push({ width: this.width, height: this.height, type, quality });
      const made = type === "image/webp" && !webp ? "image/png" : type;
      return new Blob([new Uint8Array(this.width * this.height > 1 ? 5000 : 10)], { type: made });
    }
  }
  const saved = [globalThis.createImageBitmap, globalThis.OffscreenCanvas];
  globalThis.createImageBitmap = async () => ({ width: 4000, height: 3000, close() {} });
  globalThis.OffscreenCanvas = FakeCanvas;
  t.after(() => ([globalThis.createImageBitmap, globalThis.OffscreenCanvas] = saved));
  return encoded;
}

/** A fetch standing in for the server and the store; keeps what was sent. */
function fakeServer() {
  const sent = { tickets: [], files: [] };
  const json = (body) =>
    new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } });
  const fetchImpl = async (url, init) => {
    if (url.endsWith("/api/uploads/tickets/")) {
      sent.tickets.push(JSON.parse(init.body));
      return json({ id: "t1", upload: { url: "http://store.test/bucket", fields: { key: "k" } } });
    }
    if (url.endsWith("/confirm/")) return json({ status: "confirmed" });
    sent.files.push(init.body.get("file"));
    return new Response(null, { status: 204 });
  };
  return { sent, fetch: fetchImpl };
}

const photo = new File([new Uint8Array(3_000_000)], "IMG_0001.jpg", { type: "image/jpeg" });

test("a photo goes up as WebP, 1600 px at quality 0.8, where the browser encodes WebP", async (t) => {
  const encoded = fakeBrowser(t, { webp: true });
  const server = fakeServer();

  await uploadImage(photo, { ...product, fetch: server.fetch });

  const probe = { width: 1, height: 1, type: "image/webp", quality: 0.8 };
  assert.deepEqual(encoded, [probe, { width: 1600, height: 1200, type: "image/webp", quality: 0.8 }]);
  const [ticket] = server.sent.tickets;
  const [file] = server.sent.files;
  assert.equal(ticket.content_type, "image/webp");
  assert.equal(ticket.filename, "IMG_0001.webp");
  assert.equal(ticket.size, 5000);
  assert.equal(file.type, "image/webp", "the body is what the ticket declares");
  assert.equal(file.name, "IMG_0001.webp");
});

test("where asking for WebP gives a PNG, photos go up as JPEG; the check is made once", async (t) => {
  const encoded = fakeBrowser(t, { webp: false });
  const server = fakeServer();

  await uploadImage(photo, { ...product, fetch: server.fetch });
  await uploadImage(photo, { ...product, fetch: server.fetch, outputType: "image/webp" });

  const photos = encoded.filter((entry) => entry.width > 1);
  assert.equal(encoded.length - photos.length, 1, "one probe for both uploads");
  assert.deepEqual(
    photos.map((entry) => entry.type),
    ["image/jpeg", "image/jpeg"],
  );
  for (const [index, ticket] of server.sent.tickets.entries()) {
    assert.equal(ticket.content_type, "image/jpeg");
    assert.equal(ticket.filename, "IMG_0001.jpg");
    assert.equal(server.sent.files[index].type, "image/jpeg");
  }
});

test("the size and quality are options", async (t) => {
  const encoded = fakeBrowser(t, { webp: true });
  const server = fakeServer();

  await uploadImage(photo, { ...product, fetch: server.fetch, maxSide: 1000, quality: 0.6 });
  await uploadImage(photo, { ...product, fetch: server.fetch, outputType: "image/jpeg" });

  assert.deepEqual(
    encoded.filter((entry) => entry.width > 1),
    [
      { width: 1000, height: 750, type: "image/webp", quality: 0.6 },
      { width: 1600, height: 1200, type: "image/jpeg", quality: 0.8 },
    ],
  );
  assert.deepEqual(
    server.sent.tickets.map((ticket) => ticket.content_type),
    ["image/webp", "image/jpeg"],
  );
});

test("confirm: false stops once the file is stored; newObject asks for a new object's ticket", async () => {
  const spy = spyFetch();
  const phases = [];
  const { objectId, ...withoutObject } = product;
  const ticket = await uploadImage(jpeg, {
    ...withoutObject,
    newObject: true,
    confirm: false,
    fetch: spy.fetch,
    onProgress: ({ phase }) => phases.push(phase),
  });
  assert.equal(ticket.status, "issued");
  assert.equal(ticket.object_id, null);
  assert.deepEqual(spy.calls, { ticket: 1, storage: 1, confirm: 0 });
  assert.equal(spy.tickets[0].request.new, true);
  assert.equal("object_id" in spy.tickets[0].request, false);
  assert.ok(!phases.includes("confirming"));
  // Only the creating form's save confirms it: the API refuses.
  await assert.rejects(
    fetch(`${options.apiBase}/api/uploads/tickets/${ticket.id}/confirm/`, {
      method: "POST",
      headers: { Authorization: `Token ${options.token}`, Accept: "application/json" },
    }).then((response) => (response.status === 404 ? Promise.reject(new Error("404")) : response)),
    /404/,
  );
});

test("a failure that may pass later resumes where it stopped, sending nothing twice", async () => {
  // The file is in the store, then every confirm is lost on the way.
  const failing = spyFetch((kind) => {
    if (kind === "confirm") throw new TypeError("fetch failed");
  });
  const failure = await uploadImage(jpeg, { ...product, retries: 1, fetch: failing.fetch }).catch(
    (error) => error,
  );
  assert.equal(failure.code, "network_error");
  assert.deepEqual(failing.calls, { ticket: 1, storage: 1, confirm: 2 });
  assert.ok(failure.resume, "a network error may pass: the upload can be resumed");

  const phases = [];
  const resumed = spyFetch();
  const image = await uploadImage(jpeg, {
    ...product,
    fetch: resumed.fetch,
    resume: failure.resume,
    onProgress: ({ phase }) => phases.push(phase),
  });
  assert.equal(image.status, "confirmed");
  assert.equal(image.id, failing.tickets[0].answer.id, "the same ticket");
  assert.deepEqual(resumed.calls, { ticket: 0, storage: 0, confirm: 1 });
  assert.ok(!phases.includes("preparing"), "the photo is not prepared again");
});

test("a body lost before the store took it is sent again on resume, on the same ticket", async () => {
  const failing = spyFetch((kind) => {
    if (kind === "storage") throw new TypeError("fetch failed");
  });
  const failure = await uploadImage(jpeg, { ...product, retries: 0, fetch: failing.fetch }).catch(
    (error) => error,
  );
  assert.deepEqual(failing.calls, { ticket: 1, storage: 1, confirm: 0 });

  const resumed = spyFetch();
  const image = await uploadImage(jpeg, { ...product, fetch: resumed.fetch, resume: failure.resume });
  assert.equal(image.status, "confirmed");
  assert.deepEqual(resumed.calls, { ticket: 0, storage: 1, confirm: 1 });
});

test("a confirm whose answer was lost answers the same image when resumed", async () => {
  // The server attaches the image; its answer never reaches the phone.
  const failing = spyFetch(async (kind, count, url, init) => {
    if (kind === "confirm") {
      await fetch(url, init);
      throw new TypeError("fetch failed");
    }
  });
  const failure = await uploadImage(jpeg, { ...product, retries: 0, fetch: failing.fetch }).catch(
    (error) => error,
  );
  assert.equal(failure.code, "network_error");

  const resumed = spyFetch();
  const image = await uploadImage(jpeg, { ...product, fetch: resumed.fetch, resume: failure.resume });
  assert.equal(image.status, "confirmed");
  assert.equal(image.id, failing.tickets[0].answer.id);
  assert.deepEqual(resumed.calls, { ticket: 0, storage: 0, confirm: 1 });
});

test("a ticket still expired after its renewals is renewed on resume before the body goes", async () => {
  const expired =
    '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy expired.</Message></Error>';
  const failing = spyFetch((kind) =>
    kind === "storage" ? new Response(expired, { status: 403 }) : null,
  );
  const failure = await uploadImage(jpeg, { ...product, fetch: failing.fetch }).catch((e) => e);
  assert.equal(failure.code, "ticket_expired");
  assert.deepEqual(failing.calls, { ticket: 3, storage: 3, confirm: 0 });
  assert.ok(failure.resume, "a slow link may do better next time");

  const resumed = spyFetch();
  const image = await uploadImage(jpeg, { ...product, fetch: resumed.fetch, resume: failure.resume });
  assert.equal(image.status, "confirmed");
  // Not the body posted once more with the expired ticket, then again.
  assert.deepEqual(resumed.calls, { ticket: 1, storage: 1, confirm: 1 });
});

test("a failure that cannot pass by trying again has nothing to resume", async () => {
  const refused = await uploadImage(text, product).catch((error) => error);
  assert.equal(refused.code, "invalid_image");
  assert.equal(refused.resume, undefined);
  const denied = "<Error><Code>AccessDenied</Code><Message>Policy Condition failed</Message></Error>";
  const spy = spyFetch((kind) => (kind === "storage" ? new Response(denied, { status: 403 }) : null));
  const storeRefused = await uploadImage(jpeg, { ...product, fetch: spy.fetch }).catch((e) => e);
  assert.equal(storeRefused.code, "upload_refused");
  assert.equal(storeRefused.resume, undefined);
});

/** A platform that says it is offline (navigator.onLine) until online(). */
function offlinePlatform() {
  const events = new EventTarget();
  const navigator = { onLine: false };
  Object.defineProperty(globalThis, "navigator", { value: navigator, configurable: true });
  globalThis.addEventListener = events.addEventListener.bind(events);
  globalThis.removeEventListener = events.removeEventListener.bind(events);
  return {
    online() {
      navigator.onLine = true;
      events.dispatchEvent(new Event("online"));
    },
    offline() {
      navigator.onLine = false;
    },
    restore() {
      delete globalThis.navigator;
      delete globalThis.addEventListener;
      delete globalThis.removeEventListener;
    },
  };
}

test("offline, the upload waits for the network without spending its retries", async (t) => {
  const platform = offlinePlatform();
  t.after(platform.restore);
  const phases = [];
  const spy = spyFetch((kind, count) => {
    if (kind === "storage" && count === 1) {
      setTimeout(platform.online, 50);
      throw new TypeError("fetch failed");
    }
  });
  const image = await uploadImage(jpeg, {
    ...product,
    retries: 0,
    fetch: spy.fetch,
    onProgress: ({ phase }) => phases.push(phase),
  });
  assert.equal(image.status, "confirmed");
  assert.deepEqual(spy.calls, { ticket: 1, storage: 2, confirm: 1 });
  // fetch reports no progress while it sends: "uploading" comes once sent.
  assert.deepEqual(
    phases.filter((phase, i) => phase !== phases[i - 1]),
    ["preparing", "offline", "uploading", "confirming"],
  );
});

test("offline longer than offlineWait fails with a network error that can be resumed", async (t) => {
  const platform = offlinePlatform();
  t.after(platform.restore);
  const spy = spyFetch((kind) => {
    if (kind === "confirm") throw new TypeError("fetch failed");
  });
  const started = Date.now();
  const failure = await uploadImage(jpeg, { ...product, offlineWait: 100, fetch: spy.fetch }).catch(
    (error) => error,
  );
  assert.equal(failure.code, "network_error");
  assert.ok(Date.now() - started >= 100);
  assert.deepEqual(spy.calls, { ticket: 1, storage: 1, confirm: 1 }, "no retry while offline");

  platform.online();
  const image = await uploadImage(jpeg, { ...product, resume: failure.resume });
  assert.equal(image.status, "confirmed");
});

test("offlineWait is the time an upload waits in all, whatever steps it waits at", async (t) => {
  const platform = offlinePlatform();
  t.after(platform.restore);
  const spy = spyFetch((kind, count) => {
    if (kind === "ticket" && count === 1) {
      setTimeout(platform.online, 800);
      throw new TypeError("fetch failed");
    }
    if (kind === "storage") {
      platform.offline(); // and never back
      throw new TypeError("fetch failed");
    }
  });
  const started = Date.now();
  const failure = await uploadImage(jpeg, {
    ...product,
    offlineWait: 1000,
    fetch: spy.fetch,
  }).catch((error) => error);
  const waited = Date.now() - started;
  assert.equal(failure.code, "network_error");
  assert.ok(failure.resume);
  // 800 ms for the ticket, 200 for the store: not 1000 more, which would
  // make 1800. Timers run late on a busy machine (376 ms late seen), never
  // early.
  assert.ok(waited >= 1000 && waited < 1400, `${waited} ms`);
});

test("cancelling while offline stops at once", async (t) => {
  const platform = offlinePlatform();
  t.after(platform.restore);
  const controller = new AbortController();
  const spy = spyFetch((kind) => {
    if (kind === "storage") {
      setTimeout(() => controller.abort(), 20);
      throw new TypeError("fetch failed");
    }
  });
  await assert.rejects(
    uploadImage(jpeg, { ...product, signal: controller.signal, fetch: spy.fetch }),
    { name: "AbortError" },
  );
  assert.deepEqual(spy.calls, { ticket: 1, storage: 1, confirm: 0 });
});

test("a resumed upload asks for its ticket where the failed one did, whatever options come with it", async () => {
  const tickets = [];
  const record = (url) => url.includes("/api/uploads/tickets/?") && tickets.push(new URL(url).search);
  const { objectId, ...newProduct } = { ...product, newObject: true, confirm: false };
  const failing = spyFetch((kind, count, url) => {
    record(url);
    throw new TypeError("fetch failed");
  });
  const failure = await uploadImage(jpeg, {
    ...newProduct,
    site: 7,
    retries: 0,
    fetch: failing.fetch,
  }).catch((error) => error);
  assert.equal(failure.code, "network_error");

  const ticket = await uploadImage(jpeg, {
    ...newProduct,
    site: 8,
    resume: failure.resume,
    fetch: spyFetch((kind, count, url) => (record(url), null)).fetch,
  });
  assert.equal(ticket.status, "issued");
  assert.deepEqual(tickets, ["?site=7", "?site=7"]);
});
