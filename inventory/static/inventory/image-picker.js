// The image picker of the product and site pages, built on direct-upload.js.
// Photos go straight to storage; the page only shows what happens.
import { describeFailure, uploadImage } from "direct-upload";

for (const picker of document.querySelectorAll(".picker")) setUp(picker);

function setUp(picker) {
  const messages = JSON.parse(picker.querySelector("#picker-messages").textContent);
  const inputs = picker.querySelectorAll("input[type=file]"); // take, choose
  const dropzone = picker.querySelector(".dropzone");
  const preview = picker.querySelector(".preview");
  const progressBox = picker.querySelector(".progress");
  const bar = progressBox.querySelector("progress");
  const percent = progressBox.querySelector(".percent");
  const status = picker.querySelector(".status");
  const error = picker.querySelector(".error");
  const retry = picker.querySelector(".retry");
  const form = picker.closest("form[data-picker-form]");
  const kind = picker.dataset.kind;
  const saveWaits = picker.querySelector(".save-waits");
  let controller = null;
  let uploading = null; // the upload under way: a promise of whether it succeeds
  let pending = null; // a photo chosen before the product exists
  let resumable = null; // a failed upload "Try again" resumes
  let saved = preview.getAttribute("src"); // the image the object has
  // No WebCrypto outside a secure context (plain http from a LAN address):
  // upload without the checksum rather than not at all, and say so.
  const secure = window.isSecureContext;
  picker.querySelector(".insecure").hidden = secure;

  const show = (text, isError = false) => {
    status.textContent = isError ? "" : text;
    error.textContent = isError ? text : "";
    retry.hidden = true;
  };

  function choose(file) {
    if (!file) return;
    if (!/^image\/(jpeg|png|webp)$/.test(file.type)) {
      show(messages.wrong_type, true);
      return;
    }
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
    picker.querySelector(".rendition")?.remove(); // the old image's state
    if (picker.dataset.objectId) start(file, picker.dataset.objectId);
    else {
      pending = file;
      show(messages.pending);
    }
  }

  // An upload a save of the form may wait for. Its failures are shown by
  // upload() itself.
  function start(file, objectId, resume = undefined) {
    uploading = upload(file, objectId, resume).then(
      () => true,
      () => false,
    );
    return uploading;
  }

  // Whether the photo under way went up, once it is up or failed: the one
  // that replaced it if another photo was chosen meanwhile.
  async function photoUploaded() {
    let succeeded = true;
    // Until no other has replaced it: never round the same one again.
    for (let last = null; controller && uploading !== last; ) {
      last = uploading;
      succeeded = await last;
    }
    return succeeded;
  }

  async function upload(file, objectId, resume = undefined) {
    // One upload at a time: a photo chosen while another goes up (or waits
    // for the network) replaces it, which would otherwise go on, and might
    // be attached after it.
    controller?.abort();
    const current = (controller = new AbortController());
    resumable = null;
    progressBox.hidden = false;
    bar.value = 0;
    percent.textContent = "0 %";
    show(messages.preparing);
    try {
      const image = await uploadImage(file, {
        kind,
        objectId,
        signal: current.signal,
        checksum: secure,
        resume,
        onProgress({ phase, loaded, total }) {
          if (phase === "uploading" && total) {
            const value = Math.round((100 * loaded) / total);
            bar.value = value;
            percent.textContent = `${value} %`;
            picker.dataset.progress = value;
            show(messages.uploading);
          } else if (phase !== "uploading") {
            // preparing (again once the network is back), offline, confirming
            show(messages[phase]);
          }
        },
      });
      preview.src = saved = image.url;
      show(messages.done);
      return image;
    } catch (failure) {
      if (controller !== current) throw failure; // replaced: the new one is shown
      const cancelled = failure.name === "AbortError" || current.signal.aborted;
      show(cancelled ? messages.cancelled : describeFailure(failure, messages), true);
      // The object keeps the image it had: show that one, not the photo
      // that did not go up.
      if (saved) preview.src = saved;
      preview.hidden = !saved;
      if (failure.resume) {
        // The network, the store or a limit: the same photo may go up in a
        // moment, from where it stopped, without choosing it again.
        resumable = { file, objectId, resume: failure.resume };
        retry.hidden = false;
      }
      throw failure;
    } finally {
      if (controller === current) {
        controller = null;
        progressBox.hidden = true;
      }
    }
  }

  for (const input of inputs) {
    input.addEventListener("change", () => {
      choose(input.files[0]);
      input.value = ""; // the same photo may be chosen again after a failure
    });
  }
  progressBox.querySelector(".cancel").addEventListener("click", () => controller?.abort());
  retry.addEventListener("click", () => {
    if (!resumable || controller) return;
    const { file, objectId, resume, next } = resumable;
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
    start(file, objectId, resume).then((succeeded) => succeeded && next && (location.href = next));
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

  // A refused save (400) comes with the form's fields and their errors:
  // shown in place, the page and the photo picked stay, to go up once the
  // form is corrected. Sending the form instead would show the errors but
  // lose the photo, which the user would have to take again.
  async function showRefusal(response) {
    const fields = form.querySelector("[data-form-fields]");
    if (response.status !== 400 || !fields) return false;
    const refusal = await response.json().catch(() => null);
    if (typeof refusal?.fields !== "string") return false;
    fields.innerHTML = refusal.fields;
    show(messages.not_saved, true);
    form.querySelector("[aria-invalid=true]")?.focus();
    return true;
  }

  // A save under way, the picker's or the form sent as a page: a second
  // tap on "Save" (a slow network makes people tap again) would send it
  // again, and be refused as taking the CUG of the product the first made.
  let saving = false;
  // Back on the page from the browser's history: that save is over.
  window.addEventListener("pageshow", () => (saving = false));

  // A product whose photo is going up: the form sent as a page now would
  // stop the upload, the photo's bytes spent for nothing and the photo not
  // saved. The form waits for it, then goes; if the photo fails, the form
  // stays, for the user to try the photo again or save without it.
  async function saveAfterUpload() {
    saveWaits.textContent = messages.save_waits;
    const succeeded = await photoUploaded();
    if (succeeded) {
      saveWaits.textContent = "";
      show(messages.saving);
      form.submit(); // not a submit event: this handler does not see it
    } else {
      saveWaits.textContent = messages.save_stopped;
      saving = false;
    }
  }

  // How long the save of a new product may go unanswered. It is a few kB
  // each way, seconds on 2G; with no answer after this long the link is
  // stalled, and the browser would keep "Save" locked for minutes. Saving
  // again is safe (see save_lost). A page may shorten it (its tests do)
  // with data-save-timeout on the form, in milliseconds.
  const SAVE_TIMEOUT = 30_000;

  // A product: sent as a page once its photo under way is up. A new
  // product: save it first, then upload the chosen photo to it.
  form?.addEventListener("submit", async (event) => {
    if (saving) {
      event.preventDefault();
      return;
    }
    saving = true;
    saveWaits.textContent = "";
    if (picker.dataset.objectId && controller) {
      event.preventDefault();
      await saveAfterUpload();
      return;
    }
    if (!pending || picker.dataset.objectId) return; // sent as a page
    event.preventDefault();
    show(messages.saving);
    let response, product;
    try {
      response = await fetch(form.action || location.href, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: AbortSignal.timeout(Number(form.dataset.saveTimeout) || SAVE_TIMEOUT),
      });
      if (response.ok) product = await response.json();
    } catch {
      // No network, no answer in time, or the answer lost on its way back
      // though the product was made: saving again is safe, the server knows
      // the form's product by its key (save_key) and saves it again rather
      // than refuse its CUG.
      saving = false;
      show(messages.save_lost, true);
      return;
    }
    if (!product) {
      if (await showRefusal(response)) saving = false;
      else form.submit(); // let the server answer (the login page, a refusal)
      return;
    }
    picker.dataset.objectId = product.id;
    // The form is now the product's: saving it again edits it.
    form.action = product.url;
    if (await start(pending, product.id)) {
      location.href = product.url;
      return;
    }
    // The product is saved; the user may try the photo again from its page,
    // and "Try again" goes there once the photo is saved.
    saving = false;
    history.replaceState(null, "", product.url);
    if (resumable) resumable.next = product.url;
  });

  // A photo chosen before this script ran: on a slow network the page is
  // shown, and its buttons work, seconds before its scripts arrive. Its
  // change event went unheard, and the form would go without it.
  const early = [...inputs].find((input) => input.files.length);
  if (early) {
    choose(early.files[0]);
    early.value = "";
  }
}
