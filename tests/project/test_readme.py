"""What the READMEs name exists as they name it: every link and ``#anchor``
leads somewhere, every ``manage.py`` command, ``make`` target and
``upload_client.py`` option they show is there, and the error table holds
every code the API answers, with its status. A reader who follows the docs
gets a command that runs, not "Unknown command" or a dead link."""

import importlib.util
import re
import shlex
from collections import Counter

import pytest
from django.core.management import get_commands, load_command_class
from rest_framework.test import APIClient

from inventory.logins import LoginInProgress, LoginLocked
from project.api.schema import SchemaGenerator
from tests.support.processes import BASE_DIR
from uploads import errors

README = BASE_DIR / "README.md"
DOCS = [README, BASE_DIR / "frontend_snippets" / "README.md", *sorted(BASE_DIR.glob("docs/*.md"))]

# A fenced code block, at the start of a line or indented in a list item.
FENCE = re.compile(r"^(?P<indent> *)```.*?^(?P=indent)```", re.M | re.S)


def prose(text):
    """The text outside fenced code blocks, where links are links."""
    return FENCE.sub("", text)


def code(text):
    """The fenced code blocks and the inline code spans: where commands are shown."""
    blocks = [block.group() for block in FENCE.finditer(text)]
    return [*blocks, *re.findall(r"`([^`\n]+)`", prose(text))]


def shown_lines(text):
    """The lines of code of ``text``, a command continued with ``\\`` joined into one."""
    for snippet in code(text):
        yield from snippet.replace("\\\n", " ").splitlines()


def anchors(path):
    """The ``#anchors`` of a Markdown file's headings, as GitHub makes them:
    lower case, punctuation dropped, spaces as hyphens, and ``-1``, ``-2``...
    after a heading's second and later namesakes."""
    seen = Counter()
    result = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", prose(path.read_text()), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        result.add(f"{slug}-{seen[slug]}" if seen[slug] else slug)
        seen[slug] += 1
    return result


def local_links(path):
    for target in re.findall(r"\]\(([^)\s]+)\)", prose(path.read_text())):
        if not re.match(r"[a-z]+:", target):
            yield target


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(BASE_DIR)))
def test_every_link_and_anchor_resolves(doc):
    broken = []
    for target in local_links(doc):
        name, _, anchor = target.partition("#")
        linked = (doc.parent / name).resolve() if name else doc
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and anchor not in anchors(linked):
            broken.append(f"{target}: no such heading")
    assert broken == []


def test_commands_are_read_in_code_blocks_indented_in_a_list_too():
    """A procedure's steps show their commands in blocks indented under
    each item (Upgrading): checked as any other."""
    text = (
        "1. Migrate:\n\n   ```sh\n   manage.py migrate --plan\n   ```\n"
        "2. Then `make run`.\n\n```sh\nmanage.py check --deploy\n```\n"
    )

    lines = [line.strip() for line in shown_lines(text)]

    assert "manage.py migrate --plan" in lines
    assert "manage.py check --deploy" in lines
    assert "make run" in lines
    assert "manage.py" not in prose(text)


def test_anchors_are_made_as_github_makes_them(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(
        "# Using `uploads` in another project\n## AWS S3\n```sh\n# not a heading\n```\n"
        "### The sixth round\n### The sixth round\n## Goals: at a glance, in order\n"
    )
    assert anchors(doc) == {
        "using-uploads-in-another-project",
        "aws-s3",
        "the-sixth-round",
        "the-sixth-round-1",
        "goals-at-a-glance-in-order",
    }


# Words after "manage.py" that name no command of this project: another
# task backend's worker (its package is not installed here), and make run's
# banner ("manage.py in another terminal: ...").
NOT_COMMANDS = {"rqworker", "in"}


def shown_commands():
    """(command, the options shown with it) for each ``manage.py <command>``
    in code, README and the snippets' README alike."""
    for doc in DOCS[:2]:
        for line in shown_lines(doc.read_text()):
            for command, rest in re.findall(r"manage\.py ([a-z_]+)([^#]*)", line):
                if command not in NOT_COMMANDS:
                    yield command, re.findall(r"(?<![\w-])--[a-z][a-z-]*", rest)


def options_of(command):
    app = get_commands()[command]
    parser = load_command_class(app, command).create_parser("manage.py", command)
    return {option for action in parser._actions for option in action.option_strings}


def test_every_manage_py_command_shown_exists_with_its_options():
    shown = list(shown_commands())
    assert {"purge_uploads", "check_storage", "migrate_images_to_multisite", "init_bucket"} <= {
        command for command, _ in shown
    }
    unknown = []
    for command, options in shown:
        if command not in get_commands():
            unknown.append(command)
        else:
            unknown += [f"{command} {option}" for option in set(options) - options_of(command)]
    assert unknown == []


def test_every_make_target_shown_exists():
    makefile = (BASE_DIR / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    shown = {
        target
        for doc in DOCS[:2]
        for snippet in code(doc.read_text())
        for target in re.findall(r"(?:^|[\s;&|(])make ([a-z][a-z-]*)", snippet, re.M)
    }
    assert {"run", "test", "test-fast", "bench", "lock", "clean"} <= shown
    assert shown - targets == set()


def test_every_upload_client_command_shown_parses():
    """As a reader would type it: in the READMEs and the client's docstring."""
    path = BASE_DIR / "frontend_snippets" / "upload_client.py"
    spec = importlib.util.spec_from_file_location("upload_client_under_test", path)
    client = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(client)
    lines = [line for doc in DOCS[:2] for line in shown_lines(doc.read_text())]
    lines += client.__doc__.splitlines()
    shown = [
        shlex.split(arguments, comments=True)
        for line in lines
        for arguments in re.findall(r"upload_client\.py (.*)", line)
    ]
    assert {"login", "upload"} <= {word for arguments in shown for word in arguments}
    refused = []
    for arguments in shown:
        try:
            client.parser().parse_args(arguments)
        except SystemExit:
            refused.append(" ".join(arguments))
    assert refused == []


def errors_table():
    """(status, code) of each row of the README's error table."""
    section = README.read_text().split("\n### Errors\n", 1)[1].split("\n#", 1)[0]
    return {
        (int(status), code)
        for status, codes in re.findall(r"^\| (\d{3}) \| ([^|]+) \|", section, re.M)
        for code in re.findall(r"`([a-z_]+)`", codes)
    }


def documented_errors():
    """(status, code) of every error example of the published schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for operation in (op for methods in schema["paths"].values() for op in methods.values()):
        for status, response in operation["responses"].items():
            for media in response.get("content", {}).values():
                for example in media.get("examples", {}).values():
                    value = example.get("value")
                    if isinstance(value, dict) and "code" in value and "detail" in value:
                        yield int(status), value["code"]


def upload_errors():
    pending = [errors.UploadError]
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if cls is not errors.UploadError and "code" in vars(cls):  # not Rejected, a family
            yield cls.status, cls.code


def test_the_error_table_holds_every_code_the_api_answers():
    table = errors_table()
    documented = set(documented_errors())
    assert {(406, "not_acceptable"), (409, "upload_missing")} <= documented
    answered = {
        *documented,
        *upload_errors(),
        (LoginLocked.status_code, LoginLocked.default_code),
        (LoginInProgress.status_code, LoginInProgress.default_code),
    }
    assert len(table) >= 20 and (422, "ticket_tampered") in answered
    assert answered - table == set()


def test_the_error_tables_405_is_what_its_examples_answer(make_user, sites):
    """405 is in no operation of the schema: the table's examples are its proof."""
    api = APIClient()
    api.force_authenticate(make_user("staff", sites[0]))
    for response in (api.get("/api/auth/token/"), api.delete("/api/site/")):
        assert response.status_code == 405
        assert response.json()["code"] == "method_not_allowed"
    assert (405, "method_not_allowed") in errors_table()
