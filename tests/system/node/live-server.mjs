// What the Node tests share: the live server's details (passed by
// tests/system/node/test_node_client.py) and a fetch that counts the upload's calls.
import { readFile } from "node:fs/promises";

const { BASE_URL, TOKEN, PRODUCT_ID, JPEG_PATH, TEXT_PATH } = process.env;
export const options = { apiBase: BASE_URL, token: TOKEN, retryDelay: 10 };
export const product = { ...options, kind: "product", objectId: Number(PRODUCT_ID) };
export const jpeg = new File([await readFile(JPEG_PATH)], "riz.jpg", { type: "image/jpeg" });
export const text = new File([await readFile(TEXT_PATH)], "notes.jpg", { type: "image/jpeg" });

/**
 * fetch that counts calls by kind, keeps the ticket requests and answers
 * (`tickets`: [{request, answer}]) and lets a test intercept some calls.
 */
export function spyFetch(intercept = () => null) {
  const calls = { ticket: 0, storage: 0, confirm: 0 };
  const tickets = [];
  const fetchImpl = async (url, init = {}) => {
    const kind = url.endsWith("/confirm/")
      ? "confirm"
      : url.endsWith("/api/uploads/tickets/")
        ? "ticket"
        : "storage";
    calls[kind] += 1;
    const response = (await intercept(kind, calls[kind], url, init)) ?? (await fetch(url, init));
    if (kind === "ticket" && response.clone) {
      tickets.push({ request: JSON.parse(init.body), answer: await response.clone().json() });
    }
    return response;
  };
  return { calls, tickets, fetch: fetchImpl };
}
