// The admin's direct-upload widget (inventory/admin_uploads.py), built on
// direct-upload.js: the image goes straight to storage, unconfirmed; the
// form carries the ticket's id and its save confirms it. A new object's
// image goes to the folder of the site its form names (data-site-field),
// sent again whenever that field changes.
import { describeFailure, uploadImage } from "direct-upload";

for (const widget of document.querySelectorAll(".direct-upload")) setUp(widget);

function setUp(widget) {
  const messages = JSON.parse(document.getElementById("direct-upload-messages").textContent);
  const ticket = widget.querySelector("input.ticket");
  const input = widget.querySelector("input[type=file]");
  const dropzone = widget.querySelector(".dropzone");
  const preview = widget.querySelector(".preview");
  const clear = widget.querySelector(".clear input");
  const progressBox = widget.querySelector(".progress");
  const bar = progressBox.querySelector("progress");
  const percent = progressBox.querySelector(".percent");
  const status = widget.querySelector(".status");
  const error = widget.querySelector(".error");
  const savedImage = preview.getAttribute("src");
  // Without WebCrypto (plain http from a LAN address), no checksum.
  const secure = window.isSecureContext;
  const siteField = widget.dataset.siteField
    ? widget.closest("form")?.elements.namedItem(widget.dataset.siteField)
    : null;
  let controller = null;
  let chosen = null; // the file last chosen, sent again if the site changes

  const show = (text, isError = false) => {
    status.textContent = isError ? "" : text;
    error.textContent = isError ? text : "";
  };

  async function choose(file) {
    if (!file) return;
    if (!/^image\/(jpeg|png|webp)$/.test(file.type)) {
      show(messages.wrong_type, true);
      return;
    }
    controller?.abort();
    controller = null;
    chosen = file;
    ticket.value = "";
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
    if (siteField && !siteField.value) {
      progressBox.hidden = true;
      show(messages.choose_site, true);
      return;
    }
    controller = new AbortController();
    const { signal } = controller;
    progressBox.hidden = false;
    bar.value = 0;
    percent.textContent = "0 %";
    show(messages.preparing);
    try {
      const issued = await uploadImage(file, {
        kind: widget.dataset.kind,
        objectId: widget.dataset.objectId,
        newObject: !widget.dataset.objectId,
        site: siteField?.value,
        confirm: false,
        checksum: secure,
        signal,
        onProgress({ phase, loaded, total }) {
          if (phase === "uploading" && total) {
            const value = Math.round((100 * loaded) / total);
            bar.value = value;
            percent.textContent = `${value} %`;
            widget.dataset.progress = value;
            show(messages.uploading);
          } else if (phase !== "uploading") {
            // preparing (again once the network is back) or offline: this
            // widget's uploads are confirmed by the form's save.
            show(messages[phase]);
          }
        },
      });
      if (controller?.signal !== signal) return; // another file or site since
      ticket.value = issued.id;
      if (clear) clear.checked = false;
      show(messages.uploaded);
    } catch (failure) {
      if (controller?.signal !== signal) return;
      const cancelled = failure.name === "AbortError" || signal.aborted;
      show(cancelled ? messages.cancelled : describeFailure(failure, messages), true);
      if (savedImage) preview.src = savedImage;
      else preview.hidden = true;
    } finally {
      if (controller?.signal === signal) {
        controller = null;
        progressBox.hidden = true;
      }
    }
  }

  input.addEventListener("change", () => {
    choose(input.files[0]);
    input.value = ""; // the same file may be chosen again after a failure
  });
  progressBox.querySelector(".cancel").addEventListener("click", () => {
    chosen = null;
    controller?.abort();
  });
  // The ticket's folder is the site's: another site needs another ticket.
  siteField?.addEventListener("change", () => {
    if (chosen) choose(chosen);
  });
  for (const name of ["dragenter", "dragover"]) {
    dropzone.addEventListener(name, (event) => {
      event.preventDefault();
      dropzone.classList.add("dragging");
    });
  }
  dropzone.addEventListener("dragleave", () => dropzone.classList.remove("dragging"));
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropzone.classList.remove("dragging");
    choose(event.dataTransfer.files[0]);
  });
  // Saved mid-upload, the form would go without the image: wait for it.
  widget.closest("form")?.addEventListener("submit", (event) => {
    if (!controller) return;
    event.preventDefault();
    show(messages.wait, true);
  });
}
