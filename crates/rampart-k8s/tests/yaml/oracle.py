"""The YAML oracle of rampart-k8s's loader differential test.

Reads a JSON array of texts on stdin and writes a JSON array with one answer per text:
{"docs": [...]} (each document as JSON) or {"error": "...", "line": L, "column": C}.

Parsing is libyaml's, through PyYAML's C loader (yaml.CSafeLoader); only the resolution of plain
scalars is replaced, deliberately, by the one Kubernetes applies: kubectl and the API server read
YAML with sigs.k8s.io/yaml, which decodes with go-yaml v2 (`resolve.go`) into interface{} and
then converts to JSON. Where that differs from PyYAML's YAML 1.1 resolver:
  - `y`, `Y`, `n`, `N` are booleans (go-yaml v2), strings to PyYAML;
  - integers are read with Go's strconv.ParseInt(s, 0, 64) after removing `_`: `0x`/`0X`, `0o`/`0O`,
    `0b`/`0B` prefixes and a leading `0` (octal); no base-60 (`1:30` is a string);
  - floats are `^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$` after removing `_` (`1e3` is a
    float there, a string to PyYAML); `.5`-like values starting with `.` follow Go's ParseFloat;
  - timestamps stay strings (go-yaml v2 keeps timestamp-like values as text in interface{});
  - `=` is a string (PyYAML's SafeLoader has no constructor for its `!!value` tag);
  - a scalar with an explicit core tag (`!!int "12"`) is resolved by the same table and must
    give that kind (an integer may stand for a !!float); any other tag keeps the node as it is
    (a scalar stays text), where PyYAML's SafeLoader refuses unknown tags;
  - merge keys (`<<`) are applied where they stand and duplicate keys overwrite, as go-yaml v2
    decodes into a map: a key written before `<<` is overwritten by the merged one, a key
    written after it wins (PyYAML lets the mapping's own keys win wherever they stand);
  - mapping keys become strings the way sigs.k8s.io/yaml converts them (booleans `true`/`false`,
    integers in decimal, floats as Go's FormatFloat(f, 'g', -1, 32)); a null, list or mapping
    key is an error there ("unsupported map key").
NaN and infinities become null (JSON has neither).
"""
import json
import math
import re
import struct
import sys

import yaml

PLAIN = "tag:rampart.invalid,2026:k8s-plain"
GO_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
GO_DOT_FLOAT = re.compile(r"^\.[0-9]+([eE][-+]?[0-9]+)?$")
BOOLS = {
    **{s: True for s in "y Y yes Yes YES true True TRUE on On ON".split()},
    **{s: False for s in "n N no No NO false False FALSE off Off OFF".split()},
}
SPECIAL = {
    "": None, "~": None, "null": None, "Null": None, "NULL": None,
    ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan,
    ".inf": math.inf, ".Inf": math.inf, ".INF": math.inf,
    "+.inf": math.inf, "+.Inf": math.inf, "+.INF": math.inf,
    "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
}
TIMESTAMP = re.compile(r"^[0-9]{4}-")


def go_parse_int(s):
    """strconv.ParseInt/ParseUint(s, 0, 64) (big integers as sigs.k8s.io/yaml keeps them)."""
    m = re.fullmatch(r"([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)", s)
    if not m:
        return None
    sign, body = m.groups()
    low = body.lower()
    if low.startswith("0x"):
        v = int(body[2:], 16)
    elif low.startswith("0o"):
        v = int(body[2:], 8)
    elif low.startswith("0b"):
        v = int(body[2:], 2)
    elif body.startswith("0") and len(body) > 1:
        v = int(body[1:], 8)
    else:
        v = int(body)
    return -v if sign == "-" else v


def go_timestamp(s):
    """go-yaml v2 parseTimestamp: what it accepts stays the original text in interface{}."""
    if not TIMESTAMP.match(s):
        return False
    return bool(re.fullmatch(
        r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
        r"([Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]+)?(Z|[-+][0-9]{2}:[0-9]{2})?)?", s))


def resolve(s):
    if s in SPECIAL:
        return SPECIAL[s]
    if s in BOOLS:
        return BOOLS[s]
    hint = s[0]
    if hint == ".":
        if GO_DOT_FLOAT.match(s):
            return float(s)
        return s
    if hint in "+-0123456789":
        if go_timestamp(s):
            return s
        plain = s.replace("_", "")
        v = go_parse_int(plain)
        if v is not None and -(2 ** 63) <= v < 2 ** 64:
            return v
        if GO_FLOAT.match(plain) and math.isfinite(float(plain)):
            return float(plain)
        if v is not None and not GO_FLOAT.match(plain):
            return v
    return s


def go_float32_text(f):
    """strconv.FormatFloat(f, 'g', -1, 32)."""
    if math.isnan(f):
        return ".nan"
    if math.isinf(f):
        return ".inf" if f > 0 else "-.inf"
    f32 = struct.unpack("f", struct.pack("f", f))[0]
    for p in range(1, 10):
        text = "%.*e" % (p - 1, f32)
        if struct.unpack("f", struct.pack("f", float(text)))[0] == f32:
            break
    mantissa, exp = text.split("e")
    exp = int(exp)
    digits = mantissa.replace("-", "").replace(".", "").rstrip("0") or "0"
    sign = "-" if math.copysign(1.0, f32) < 0 else ""
    if exp < -4 or exp >= 6:
        m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return "%s%se%s%02d" % (sign, m, "-" if exp < 0 else "+", abs(exp))
    if exp < 0:
        return sign + "0." + "0" * (-exp - 1) + digits
    if len(digits) <= exp + 1:
        return sign + digits + "0" * (exp + 1 - len(digits))
    return sign + digits[: exp + 1] + "." + digits[exp + 1:]


class K8sLoader(yaml.CSafeLoader):
    pass


K8sLoader.yaml_implicit_resolvers = {}
K8sLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])
K8sLoader.add_implicit_resolver(PLAIN, re.compile(r"(?s).*"), None)
K8sLoader.add_constructor(PLAIN, lambda loader, node: resolve(node.value))


class KeyError_(Exception):
    pass


def tagged(kind):
    def construct(loader, node):
        v = resolve(loader.construct_scalar(node))
        if kind == "float" and isinstance(v, int) and not isinstance(v, bool):
            return float(v)
        ok = {
            "int": isinstance(v, int) and not isinstance(v, bool),
            "float": isinstance(v, float),
            "bool": isinstance(v, bool),
            "null": v is None,
        }[kind]
        if not ok:
            raise KeyError_("cannot decode %r as !!%s" % (node.value, kind))
        return v
    return construct


for kind in ("int", "float", "bool", "null"):
    K8sLoader.add_constructor("tag:yaml.org,2002:" + kind, tagged(kind))
K8sLoader.add_constructor("tag:yaml.org,2002:timestamp", lambda l, n: l.construct_scalar(n))


def construct_any(loader, node):
    """Any other tag: the node as it is (go-yaml decodes it into interface{} untouched)."""
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


K8sLoader.add_constructor(None, construct_any)


def construct_mapping(loader, node, deep=False):
    """go-yaml v2's decoder.mapping and merge, keys converted as sigs.k8s.io/yaml does."""
    out = {}
    for key_node, value_node in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            if isinstance(value_node, yaml.MappingNode):
                sources = [value_node]
            elif isinstance(value_node, yaml.SequenceNode):
                sources = list(reversed(value_node.value))
            else:
                raise KeyError_("map merge requires map or sequence of maps as the value")
            for src in sources:
                if not isinstance(src, yaml.MappingNode):
                    raise KeyError_("map merge requires map or sequence of maps as the value")
                out.update(construct_mapping(loader, src, deep=True))
            continue
        key = key_text(loader.construct_object(key_node, deep=True))
        out[key] = loader.construct_object(value_node, deep=True)
    return out


K8sLoader.construct_mapping = construct_mapping


def to_json(v):
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            out[key_text(k)] = to_json(x)
        return out
    if isinstance(v, list):
        return [to_json(x) for x in v]
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, (bytes, bytearray)):
        raise KeyError_("binary value")
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def key_text(k):
    if isinstance(k, bool):
        return "true" if k else "false"
    if isinstance(k, int):
        return str(k)
    if isinstance(k, float):
        return go_float32_text(k)
    if isinstance(k, str):
        return k
    raise KeyError_("unsupported map key %r" % (k,))


def answer(text):
    try:
        docs = list(yaml.load_all(text, Loader=K8sLoader))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        return {"error": str(e).replace("\n", " "), "line": mark.line + 1 if mark else 0,
                "column": mark.column + 1 if mark else 0}
    except yaml.YAMLError as e:
        return {"error": str(e).replace("\n", " "), "line": 0, "column": 0}
    except KeyError_ as e:
        return {"error": "kubernetes: " + str(e), "line": 0, "column": 0}
    except (ValueError, TypeError) as e:
        return {"error": "%s: %s" % (type(e).__name__, e), "line": 0, "column": 0}
    try:
        return {"docs": [to_json(d) for d in docs]}
    except KeyError_ as e:
        return {"error": "kubernetes: " + str(e), "line": 0, "column": 0}
    except RecursionError:
        return {"error": "recursive alias", "line": 0, "column": 0}


def main():
    assert yaml.__with_libyaml__, "PyYAML was built without libyaml"
    texts = json.load(sys.stdin)
    json.dump([answer(t) for t in texts], sys.stdout)


main()
