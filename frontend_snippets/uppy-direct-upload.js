/**
 * An Uppy uploader for the inventory API's direct uploads.
 *
 *   import { Uppy, Dashboard } from "uppy";        // or @uppy/core, @uppy/dashboard
 *   import DirectUpload, { fr_FR } from "./uppy-direct-upload.js";
 *
 *   new Uppy({ restrictions: { allowedFileTypes: ["image/jpeg", "image/png", "image/webp"] } })
 *     .use(Dashboard, { inline: true, target: "#photos" })
 *     .use(DirectUpload, { kind: "product", objectId: 42, locale: fr_FR });
 *
 * Each file goes through direct-upload.js's uploadImage, as on the
 * inventory pages: shrunk on the device, a ticket asked for with its
 * SHA-256, the file posted straight to the bucket with the ticket's form,
 * then confirmed. So Uppy gets everything that module does for a phone on
 * slow data: the retries of each step, the wait for a lost network, and a
 * retry (Uppy's "Retry" button) that neither prepares the photo again nor
 * sends a body the bucket already holds. The API's refusals reach Uppy's
 * file error in the user's language, as the API words them.
 *
 * Uppy's own AwsS3 plugin cannot do this: since its 6.0 it signs PUTs and
 * multipart uploads only (getUploadParameters, which could take a POST
 * form, is gone), and the server signs only POST policies (exact key,
 * size, type and checksum). XHRUpload could post a ticket's form, but
 * would leave the checksum and the confirm to the page.
 *
 * The one import of Uppy's is BasePlugin from @uppy/core: a bundler
 * resolves it, or a page's import map points it at Uppy's bundle (its
 * uppy.min.mjs exports BasePlugin too).
 */
import { BasePlugin } from "@uppy/core";
import { describeFailure, uploadImage } from "./direct-upload.js";

/** The plugin's texts, as the inventory pages word them. */
export const locale = {
  strings: {
    networkError: "The connection was lost. Check your network and try again.",
    uploadRefused: "Storage refused the file. Try again with another photo.",
    expired: "The upload took too long and expired. Check your connection and try again.",
    failed: "The upload failed. Try again.",
  },
};

/** Their French, for `locale: fr_FR` (Uppy's own French is @uppy/locales' fr_FR). */
export const fr_FR = {
  strings: {
    networkError: "La connexion a été perdue. Vérifiez votre réseau et réessayez.",
    uploadRefused: "Le stockage a refusé le fichier. Réessayez avec une autre photo.",
    expired: "L'envoi a pris trop de temps et a expiré. Vérifiez votre connexion et réessayez.",
    failed: "L'envoi a échoué. Réessayez.",
  },
};

// Options that are the plugin's own; every other option goes to uploadImage
// (kind, objectId, token, apiBase, headers, newObject, site, downscale,
// maxSide, quality, retries, offlineWait, ...: see direct-upload.js).
const PLUGIN_OPTIONS = ["id", "locale", "limit"];

/**
 * The kinds of upload the inventory API takes (inventory/upload_targets.py):
 * whether a file needs its object's id (a logo's object is the user's own
 * site), and whether it may go to an object not created yet (newObject).
 */
export const KINDS = {
  product: { needsObjectId: true, newObjects: true },
  logo: { needsObjectId: false, newObjects: false },
};

const KIND_NAMES = Object.keys(KINDS)
  .map((kind) => JSON.stringify(kind))
  .join(" or ");

/**
 * What is wrong with the target of an upload, or null: the developer's
 * error, which the API would refuse with words that say nothing of it.
 * named(option) says where a value comes from (the plugin's option, or a
 * file's meta). In the options, an objectId of null is left for each file
 * to name; a file's target (ofFile) must name its object.
 */
function targetProblem({ kind, objectId, newObject }, named, ofFile = false) {
  if (kind === undefined || kind === null || kind === "") {
    return `${named("kind")} is required: ${KIND_NAMES}.`;
  }
  if (!Object.hasOwn(KINDS, kind)) {
    return `${named("kind")} is ${JSON.stringify(kind)}, no kind of upload: ${KIND_NAMES}.`;
  }
  const hasId = objectId !== undefined && objectId !== null;
  if (hasId && !/^[1-9][0-9]*$/.test(String(objectId))) {
    const id = JSON.stringify(objectId);
    return `${named("objectId")} is ${id}, not an object's id (a whole number, 1 or more).`;
  }
  if (newObject && !KINDS[kind].newObjects) {
    return `\`newObject\` does not go with kind "${kind}": its files go to an object that exists.`;
  }
  if (newObject && hasId) {
    return `${named("objectId")} does not go with \`newObject: true\`: a new object has no id yet.`;
  }
  if (hasId || newObject || !KINDS[kind].needsObjectId) return null;
  if (ofFile) {
    return (
      `kind "${kind}" needs an \`objectId\`, and the file names none: ` +
      "set its meta (uppy.setFileMeta(fileID, { objectId })) or the option."
    );
  }
  if (objectId === undefined) {
    return (
      `kind "${kind}" needs the \`objectId\` option, the id of the object the files go to; ` +
      "or `newObject: true`, for an object not created yet; or `objectId: null`, " +
      "if each file names its own (uppy.setFileMeta(fileID, { objectId }))."
    );
  }
  return null;
}

// What a file's meta sets of its target, over the options.
const META_TARGET = ["kind", "objectId"];

/** The target of `options` as `meta` (a file's, or Uppy's) overrides it. */
function withMeta(options, meta) {
  const target = { ...options };
  for (const name of META_TARGET) if (meta[name] !== undefined) target[name] = meta[name];
  return target;
}

/**
 * Throws, naming the option, if the plugin's options cannot work. `meta`
 * is Uppy's own (new Uppy({ meta }), uppy.setMeta()), which every file
 * added takes as its meta: a `kind` or `objectId` there is every file's,
 * as it was before the options were checked.
 */
function checkOptions(opts, meta) {
  const named = (name) =>
    meta[name] === undefined ? `the \`${name}\` option` : `Uppy's meta \`${name}\``;
  const problem =
    targetProblem(withMeta(opts, meta), named) ??
    ((Number.isInteger(opts.limit) && opts.limit >= 0) || opts.limit === Infinity
      ? null
      : `the \`limit\` option is ${JSON.stringify(opts.limit)}, not a whole number ` +
        "(1 or more; 0 for no limit).");
  if (problem) throw new TypeError(`DirectUpload: ${problem}`);
}

/**
 * Options, besides uploadImage's:
 *   limit    how many files go up at once, in all of Uppy's uploads
 *            (default 1: on a slow link one photo at a time finishes each
 *            sooner, and a phone holds one decoded photo at a time while
 *            shrinking it); 0, as in Uppy's own uploaders, for no limit
 *   locale   the plugin's texts (fr_FR above, or your own)
 *
 * A file's meta `kind` and `objectId` (uppy.setFileMeta; Uppy's own `meta`
 * option, which every file added takes) override the options' for that
 * file: one Dashboard may hold photos of several products (`objectId:
 * null`: each file names its own).
 * The answer of confirm is the file's response body; its `url` the file's
 * uploadURL.
 *
 * Options that cannot work (no `kind`, or one the API does not take, no
 * `objectId` where the kind needs one, a `limit` that is no count of files) throw a
 * TypeError naming the option from uppy.use() and setOptions(), as Uppy's
 * own plugins do. A file whose meta makes its target wrong fails with the
 * plugin's `failed` for the user, and the reason logged for the developer
 * (uppy.log: the console's errors, by default), never sent to the API.
 */
export default class DirectUpload extends BasePlugin {
  static VERSION = "1.1.0";

  constructor(uppy, opts) {
    super(uppy, { limit: 1, ...opts });
    checkOptions(this.opts, uppy.getState().meta);
    this.id = this.opts.id || "DirectUpload";
    this.type = "uploader";
    this.defaultLocale = locale;
    this.i18nInit();
    // Per file: the AbortController of its upload in progress, and its last
    // failure that may pass later: its resume, and the target it was for.
    this.controllers = new Map();
    this.resumes = new Map();
    // The files going up, and those waiting for one of them to end: `limit`
    // counts across Uppy's uploads, since files added while others go up
    // are an upload of their own (at once, with autoProceed).
    this.running = 0;
    this.waiting = [];
    this.uninstalled = false;
  }

  setOptions(newOpts) {
    checkOptions({ ...this.opts, ...newOpts }, this.uppy.getState().meta);
    super.setOptions(newOpts);
  }

  install() {
    this.uppy.addUploader(this.upload);
    this.uppy.on("file-removed", this.onFileRemoved);
    this.uppy.on("cancel-all", this.onCancelAll);
  }

  uninstall() {
    // Files waiting their turn never start: their uploader is gone.
    this.uninstalled = true;
    this.uppy.removeUploader(this.upload);
    this.uppy.off("file-removed", this.onFileRemoved);
    this.uppy.off("cancel-all", this.onCancelAll);
    this.onCancelAll();
  }

  onFileRemoved = (file) => {
    this.controllers.get(file.id)?.abort();
    this.resumes.delete(file.id);
  };

  onCancelAll = () => {
    for (const controller of this.controllers.values()) controller.abort();
    this.resumes.clear();
  };

  /** Uppy's uploader step: the files that are neither done nor failed, `limit` at a time. */
  upload = async (fileIDs) => {
    const files = this.uppy
      .getFilesByIds(fileIDs)
      .filter((file) => !file.error && !file.progress?.uploadComplete);
    if (files.length === 0) return;
    this.uppy.emit("upload-start", files);
    await Promise.all(
      files.map((file) =>
        this.inTurn(() => {
          // Removed while it waited its turn, or the plugin with it.
          const current = !this.uninstalled && this.uppy.getFile(file.id);
          return current && this.uploadFile(current);
        }),
      ),
    );
  };

  /** Runs task once fewer than `limit` files are going up. */
  async inTurn(task) {
    // 0, as in Uppy's own uploaders, is no limit.
    if (this.running < (this.opts.limit || Infinity)) this.running += 1;
    else await new Promise((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      // The turn passes to the next file waiting, or is given back.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }

  /** Uploads one file; its outcome is told to Uppy as events, never thrown. */
  async uploadFile(file) {
    const controller = new AbortController();
    this.controllers.set(file.id, controller);
    const options = this.uploadOptions(file);
    // A failure's resume goes on with the upload it was for: not once the
    // file names another target (uppy.setFileMeta, setOptions).
    const target = JSON.stringify([options.kind, options.objectId, options.newObject, options.site]);
    const failed = this.resumes.get(file.id);
    // Its 0 %: the Dashboard shows a file's progress, with its cancel (and,
    // should it fail before any byte is sent, its retry) button, once it
    // has one.
    this.progress(file, 0);
    try {
      const problem = this.targetProblem(file, options);
      if (problem) {
        // The developer's error, told them; the user sees the plugin's `failed`.
        this.uppy.log(problem, "error");
        throw new TypeError(problem);
      }
      const image = await uploadImage(file.data, {
        ...options,
        resume: failed?.target === target ? failed.resume : undefined,
        signal: controller.signal,
        // "offline": Uppy itself tells the user the network is gone, and back.
        onProgress: ({ phase, loaded, total }) => {
          if (phase === "uploading" && total) this.progress(file, loaded / total);
        },
      });
      this.resumes.delete(file.id);
      this.uppy.emit("upload-success", this.uppy.getFile(file.id), {
        status: 200,
        body: image,
        uploadURL: image.url,
      });
    } catch (error) {
      // Removed, or all cancelled: Uppy has forgotten the file already.
      if (error?.name === "AbortError") return;
      if (error?.resume) this.resumes.set(file.id, { resume: error.resume, target });
      else this.resumes.delete(file.id);
      this.uppy.emit("upload-error", this.uppy.getFile(file.id), this.failure(error));
    } finally {
      this.controllers.delete(file.id);
    }
  }

  /** What is wrong with this file's target (its meta, or the options), or null. */
  targetProblem(file, options) {
    const named = (name) =>
      file.meta[name] === undefined ? `the \`${name}\` option` : `its meta \`${name}\``;
    const problem = targetProblem(options, named, true);
    return problem && `DirectUpload: file ${JSON.stringify(file.name)}: ${problem}`;
  }

  /** uploadImage's options for this file: the plugin's, the file's target. */
  uploadOptions(file) {
    const options = Object.fromEntries(
      Object.entries(this.opts).filter(([name]) => !PLUGIN_OPTIONS.includes(name)),
    );
    return withMeta(options, file.meta);
  }

  /**
   * The share of the photo sent to the bucket, as Uppy's progress in the
   * file's own size, as Uppy's uploaders count: the photo sent, shrunk on
   * the device, is far smaller than the file chosen, and Uppy's total
   * weighs each file by the size it knows. Preparing the photo is its 0 %,
   * the confirm its 100 %: the Dashboard shows messages of theirs
   * (preprocess-progress, postprocess-progress) only while no file is
   * uploading, and hides the buttons of a file that has one.
   */
  progress(file, fraction) {
    const current = this.uppy.getFile(file.id);
    if (!current) return;
    this.uppy.emit("upload-progress", current, {
      uploadStarted: current.progress.uploadStarted ?? Date.now(),
      bytesUploaded: fraction * current.size,
      bytesTotal: current.size,
    });
  }

  /**
   * The error Uppy shows for a failed upload: the API's detail, in the
   * user's language, or the plugin's words where there is none written for
   * people (the network, the store's English). The UploadError is its cause.
   */
  failure(error) {
    const message = describeFailure(error, {
      network_error: this.i18n("networkError"),
      upload_refused: this.i18n("uploadRefused"),
      expired: this.i18n("expired"),
      failed: this.i18n("failed"),
    });
    return Object.assign(new Error(message, { cause: error }), { code: error?.code });
  }
}
