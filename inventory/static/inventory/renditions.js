// Placeholders of images whose renditions the server is still making
// (inventory/image.html): ask the image's status URL, less and less often,
// until the renditions are ready or failed, then put in the page the HTML it
// answered. Gives up after ten minutes: a reload tells then.
const FIRST_DELAY = 1000;
const MAX_DELAY = 20000;
const GIVE_UP_AFTER = 10 * 60 * 1000;

for (const placeholder of document.querySelectorAll("[data-rendition-status]")) {
  watch(placeholder);
}

function watch(placeholder) {
  const started = Date.now();
  let delay = FIRST_DELAY;
  async function poll() {
    if (!placeholder.isConnected) return; // replaced, by a new upload say
    try {
      const response = await fetch(placeholder.dataset.renditionStatus, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      // Gone, or signed out (asking on would fetch nothing until a reload).
      if ([401, 403, 404].includes(response.status)) return;
      if (response.ok) {
        const answer = await response.json();
        if (answer.state !== "pending") {
          placeholder.outerHTML = answer.html;
          return;
        }
      }
    } catch {
      // Offline for a moment: ask again later.
    }
    delay = Math.min(delay * 2, MAX_DELAY);
    if (Date.now() - started < GIVE_UP_AFTER) setTimeout(poll, delay);
  }
  setTimeout(poll, delay);
}
