"""What the tests share besides fixtures: image bytes, stores seen from
outside, the upload API as a client calls it, the project's commands in
processes of their own, and the proxies that stand in for a misbehaving
store or a limited key. Fixtures live in the conftest files and use these
modules; test modules import from here, never from a conftest or from
another test module."""
