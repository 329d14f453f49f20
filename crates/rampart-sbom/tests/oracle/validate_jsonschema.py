"""Validates a JSON document against a JSON schema with Python `jsonschema` (format checks on).

usage: validate_jsonschema.py SCHEMA INSTANCE [REFERENCED_SCHEMA...]

Referenced schemas are registered under their `$id`, so `$ref`s resolve locally; nothing is
fetched (a `$ref` to an unregistered URI is an error). Prints up to 20 errors; exits 1 on any.
"""
import json
import sys

import jsonschema
from referencing import Registry, Resource

schema_path, instance_path, *refs = sys.argv[1:]
with open(schema_path, encoding="utf-8") as f:
    schema = json.load(f)
resources = []
for path in refs:
    with open(path, encoding="utf-8") as f:
        contents = json.load(f)
    resources.append((contents["$id"], Resource.from_contents(contents)))
registry = Registry().with_resources(resources)
with open(instance_path, encoding="utf-8") as f:
    instance = json.load(f)
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
validator = cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)
errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
for e in errors[:20]:
    print(list(e.absolute_path), e.message[:300])
sys.exit(1 if errors else 0)
