"""
The OpenAPI schema as client generators read it (openapi-python-client,
openapi-generator's Kotlin and Swift targets): what drf-spectacular writes
in a way they turn into types nobody can use, said plainly.
"""

# drf-spectacular's second branch for a string that may be blank.
BLANK = {"type": "string", "maxLength": 0}
# What an empty string would fail, as the description says it.
CONSTRAINTS = {
    "format": "in format `{}`",
    "pattern": "matching `{}`",
    "minLength": "of at least {} characters",
}


def _plain_string(schema):
    """``schema`` without the ``oneOf`` that says "blank, or a formatted
    string", or ``schema`` itself if it is not one."""
    branches = schema.get("oneOf")
    if not (isinstance(branches, list) and len(branches) == 2 and branches[1] == BLANK):
        return schema
    formatted = branches[0]
    wanted = " and ".join(
        phrase.format(formatted[key]) for key, phrase in CONSTRAINTS.items() if key in formatted
    )
    plain = {key: value for key, value in schema.items() if key != "oneOf"}
    plain.update({key: value for key, value in formatted.items() if key not in CONSTRAINTS})
    plain["description"] = " ".join(
        filter(None, [plain.get("description"), f"Empty, or {wanted}."])
    )
    return plain


def _walk(node):
    if isinstance(node, dict):
        return {key: _walk(value) for key, value in _plain_string(node).items()}
    if isinstance(node, list):
        return [_walk(item) for item in node]
    return node


def plain_blank_strings(result, generator, request, public):
    """drf-spectacular postprocessing hook.

    A string field that may be blank and has a format, such as the site's
    ``EmailField(blank=True)``, is documented as ``oneOf: [an email, a
    string of length 0]``. Generators make a type of that union, named
    after the field's translated title: an empty class in Kotlin, which
    cannot read the string, and a one-case enum in Swift. Documented as a
    plain string instead, with the format in its description."""
    result["components"]["schemas"] = _walk(result["components"]["schemas"])
    return result
