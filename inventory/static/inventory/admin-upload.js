// The admin's direct-upload widget (inventory/admin_uploads.py), built on
// direct-upload.js: the image goes straight to storage, unconfirmed; the
// form carries the ticket's id and its save confirms it.
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
  let controller = null;

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
    controller = new AbortController();
    const { signal } = controller;
    ticket.value = "";
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
    progressBox.hidden = false;
    bar.value = 0;
    percent.textContent = "0 %";
    show(messages.preparing);
    try {
      const issued = await uploadImage(file, {
        kind: widget.dataset.kind,
        objectId: widget.dataset.objectId,
        newObject: !widget.dataset.objectId,
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
          }
        },
      });
      ticket.value = issued.id;
      if (clear) clear.checked = false;
      show(messages.uploaded);
    } catch (failure) {
      const cancelled = failure.name === "AbortError" || signal.aborted;
      show(cancelled ? messages.cancelled : describeFailure(failure, messages), true);
      if (savedImage) preview.src = savedImage;
      else preview.hidden = true;
    } finally {
      if (controller?.signal === signal) controller = null;
      progressBox.hidden = true;
    }
  }

  input.addEventListener("change", () => {
    choose(input.files[0]);
    input.value = ""; // the same file may be chosen again after a failure
  });
  progressBox.querySelector(".cancel").addEventListener("click", () => controller?.abort());
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
