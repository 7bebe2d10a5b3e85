// The upload module's logic in Node (fetch, no XMLHttpRequest), against a
// live server started by tests/system/node/test_node_client.py (see live-server.mjs).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";

import { UploadError, uploadImage } from "../../../frontend_snippets/direct-upload.js";
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
