"""A page of Uppy's Dashboard with frontend_snippets/uppy-direct-upload.js,
on the live server's origin, as an app that uses Uppy would have it.

Uppy comes from the npm registry (`tests/system/browser/uppy/package.json`,
installed by `make test` with `npm ci`), as Uppy's own bundle: the one
file a page without a build step imports, and which the page's import map
names for the plugin's `@uppy/core`. The page and its modules are served
by Playwright at ``/uppy-test/`` on the live server's origin, so that the
API's calls (tickets, confirm) are the page's own, with its session."""

import json
from pathlib import Path

from django.conf import settings

UPPY_PACKAGES = Path(__file__).resolve().parents[1] / "system" / "browser" / "uppy"
NODE_MODULES = UPPY_PACKAGES / "node_modules"
SNIPPETS = Path(settings.BASE_DIR) / "frontend_snippets"

# What the page may load, by its name under /uppy-test/.
FILES = {
    "uppy.min.mjs": NODE_MODULES / "uppy" / "dist" / "uppy.min.mjs",
    "uppy.min.css": NODE_MODULES / "uppy" / "dist" / "uppy.min.css",
    "uppy-fr_FR.js": NODE_MODULES / "@uppy" / "locales" / "lib" / "fr_FR.js",
    "uppy-direct-upload.js": SNIPPETS / "uppy-direct-upload.js",
    "direct-upload.js": SNIPPETS / "direct-upload.js",
}

PAGE = """<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Photos</title>
<link rel="stylesheet" href="/uppy-test/uppy.min.css">
<script type="importmap">{"imports": {"@uppy/core": "/uppy-test/uppy.min.mjs"}}</script>
</head>
<body>
<div id="photos"></div>
<script type="application/json" id="options">%(options)s</script>
<script type="module">
import { Uppy, Dashboard } from "/uppy-test/uppy.min.mjs";
import uppyFrench from "/uppy-test/uppy-fr_FR.js";
import DirectUpload, { fr_FR } from "/uppy-test/uppy-direct-upload.js";

const options = JSON.parse(document.getElementById("options").textContent);
window.results = [];
window.uppy = new Uppy({
  locale: uppyFrench,
  restrictions: { allowedFileTypes: ["image/jpeg", "image/png", "image/webp"] },
})
  .use(Dashboard, { inline: true, target: "#photos", proudlyDisplayPoweredByUppy: false })
  .use(DirectUpload, { ...options, locale: fr_FR });
window.uppy.on("complete", (result) => window.results.push(result));
</script>
</body>
</html>
"""

CONTENT_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css"}


def open_uppy_page(page, origin, **options):
    """Opens, in ``page``, a Dashboard whose uploads go through the plugin
    with ``options`` (uploadImage's and the plugin's), in French."""
    missing = [str(path) for path in FILES.values() if not path.exists()]
    assert not missing, (
        f"Uppy is not installed: `make test` installs it "
        f"(npm ci --prefix {UPPY_PACKAGES.relative_to(settings.BASE_DIR)}); missing {missing}"
    )
    html = PAGE % {"options": json.dumps(options).replace("</", "<\\/")}

    def serve(route):
        name = route.request.url.split("/uppy-test/", 1)[1].split("?", 1)[0]
        if name == "":
            route.fulfill(body=html, content_type="text/html; charset=utf-8")
        elif name in FILES:
            path = FILES[name]
            route.fulfill(path=path, content_type=CONTENT_TYPES[path.suffix])
        else:
            route.fulfill(status=404, body="")

    page.route(f"{origin}/uppy-test/**", serve)
    page.goto(f"{origin}/uppy-test/")
    page.wait_for_function("() => window.uppy !== undefined")


def add_photos(page, *files):
    """Chooses ``files`` ((name, MIME type, bytes) each) in the Dashboard,
    as a user picks them."""
    page.set_input_files(
        "input.uppy-Dashboard-input >> nth=0",
        files=[{"name": name, "mimeType": kind, "buffer": data} for name, kind, data in files],
    )


def start_upload(page):
    """Presses the Dashboard's upload button."""
    page.click(".uppy-StatusBar-actionBtn--upload")


def wait_for_result(page, count=1, with_file=None):
    """The ``count``-th result of Uppy's "complete" event (or, with
    ``with_file``, the first that lists a file of that name): the files that
    went up and those that failed, each file's id, name, error and response
    body."""
    found = page.wait_for_function(
        """([count, name]) => {
            const summary = (file) => ({
                id: file.id, name: file.name, error: file.error ?? null,
                body: file.response?.body ?? null, uploadURL: file.uploadURL ?? null,
            });
            const lists = (result) =>
                [...result.successful, ...result.failed].some((file) => file.name === name);
            const result = name === null
                ? window.results[count - 1]
                : window.results.find(lists);
            return result && {
                successful: result.successful.map(summary),
                failed: result.failed.map(summary),
            };
        }""",
        arg=[count, with_file],
        timeout=60_000,
    )
    return found.json_value()


def file_button(page, file_name, label):
    """The button ``label`` (its accessible name, in Uppy's French) on the
    Dashboard's file ``file_name``: its cancel or retry, on its progress."""
    item = page.locator(".uppy-Dashboard-Item", has_text=file_name)
    return item.get_by_role("button", name=label, exact=True)


def shown(locator):
    """Whether the element is there for the user to see: Playwright's
    "visible" counts an element faded out to opacity 0 (as the Dashboard
    fades a file's progress and its buttons while the file is
    "processing"), so no ancestor of it may be."""
    locator.wait_for()
    return locator.evaluate(
        """element => {
            for (let e = element; e; e = e.parentElement) {
                if (getComputedStyle(e).opacity === "0") return false;
            }
            return true;
        }"""
    )


def use_errors(page, cases, uppy_options=None):
    """What ``uppy.use(DirectUpload, options)`` throws, on the page that
    ``open_uppy_page`` opened, for each ``cases`` name's options, on an
    ``Uppy(uppy_options)``: the error's name and message, and whether the
    plugin was installed all the same (``None`` for options it takes)."""
    return page.evaluate(
        """async ([cases, uppyOptions]) => {
            const { Uppy } = await import("/uppy-test/uppy.min.mjs");
            const { default: DirectUpload } = await import("/uppy-test/uppy-direct-upload.js");
            const thrown = {};
            for (const [name, options] of Object.entries(cases)) {
                const uppy = new Uppy(uppyOptions);
                try {
                    uppy.use(DirectUpload, options);
                    thrown[name] = null;
                } catch (error) {
                    const installed = uppy.getPlugin("DirectUpload") !== undefined;
                    thrown[name] = { name: error.name, message: error.message, installed };
                }
                uppy.destroy();
            }
            return thrown;
        }""",
        [cases, uppy_options or {}],
    )


def console_errors(page):
    """The texts of the errors ``page`` logs to its console, as a list that grows."""
    errors = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    return errors
