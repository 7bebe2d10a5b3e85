// The upload module where WebCrypto is missing, as in Node 18 or on a page
// served over plain http from a LAN address. tests/system/node/test_node_client.py
// runs this file with --no-experimental-global-webcrypto.
import assert from "node:assert/strict";
import { test } from "node:test";

import { UploadError, uploadImage } from "../../../frontend_snippets/direct-upload.js";
import { jpeg, product, spyFetch } from "./live-server.mjs";

test("runs without WebCrypto", () => {
  assert.equal(globalThis.crypto, undefined);
});

test("the upload fails with a clear error before anything is sent", async () => {
  const spy = spyFetch();
  await assert.rejects(uploadImage(jpeg, { ...product, fetch: spy.fetch }), (error) => {
    assert.ok(error instanceof UploadError);
    assert.equal(error.code, "checksum_unavailable");
    assert.match(error.message, /WebCrypto/);
    assert.match(error.message, /checksum: false/);
    return true;
  });
  assert.deepEqual(spy.calls, { ticket: 0, storage: 0, confirm: 0 });
});

test("checksum: false uploads without the SHA-256", async () => {
  const spy = spyFetch();
  const image = await uploadImage(jpeg, { ...product, checksum: false, fetch: spy.fetch });
  assert.equal(image.status, "confirmed");
  const [{ request, answer }] = spy.tickets;
  assert.ok(!("sha256" in request));
  assert.ok(!("x-amz-checksum-sha256" in answer.upload.fields));
});
