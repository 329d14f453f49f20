"""Validates a CycloneDX 1.6 JSON document with the CycloneDX Python library
(cyclonedx-python-lib): its strict JSON schema validator, then its object model (the document is
deserialized into a `Bom` and checked by `Bom.validate`: dependency references resolve, a
license expression stands alone, the root component has dependencies; warnings are errors).

usage: validate_cyclonedx.py FILE. Prints the problems; exits 1 on any.
"""
import json
import sys
import warnings

from cyclonedx.model.bom import Bom
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

with open(sys.argv[1], encoding="utf-8") as f:
    data = f.read()
errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(data, all_errors=True)
problems = [str(e)[:300] for e in (errors or [])]
if not problems:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            bom = Bom.from_json(json.loads(data))  # type: ignore[attr-defined]
            bom.validate()
            if bom.serial_number is None or str(bom.version) != "1":
                problems.append("serialNumber or version lost in the object model")
    except Exception as e:  # noqa: BLE001 - any failure of the model is a finding
        problems.append(f"object model: {type(e).__name__}: {str(e)[:300]}")
for p in problems[:20]:
    print(p)
sys.exit(1 if problems else 0)
