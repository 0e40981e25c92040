"""The --json schemas of docs/cli-json.md, and a validator for the small
JSON Schema subset that page describes (stdlib only)."""
import json
import re

_BLOCK = re.compile(r"^```json (cli-schema|cli-schema-def) ([^\n]+)\n(.*?)^```", re.M | re.S)
_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def load(path):
    """(schemas by command, definitions by name) from the markdown page."""
    schemas, defs = {}, {}
    with open(path) as f:
        text = f.read()
    for kind, name, body in _BLOCK.findall(text):
        target = schemas if kind == "cli-schema" else defs
        name = name.strip()
        if name in target:
            raise ValueError(f"{path}: {kind} {name} is given twice")
        try:
            target[name] = json.loads(body)
        except ValueError as e:
            raise ValueError(f"{path}: {kind} {name}: {e}") from None
    return schemas, defs


def _type_ok(value, t):
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[t])


def errors(value, schema, defs, where="$"):
    """The list of ways value breaks schema (empty: it conforms)."""
    if "$ref" in schema:
        return errors(value, defs[schema["$ref"]], defs, where)
    if "anyOf" in schema:
        tries = [errors(value, s, defs, where) for s in schema["anyOf"]]
        if any(not e for e in tries):
            return []
        best = min(tries, key=len)
        return [f"{where}: matches none of {len(tries)} alternatives; closest: {best[0]}"]
    out = []
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} is not one of {schema['enum']}"]
    types = schema.get("type")
    if types is not None:
        types = types if isinstance(types, list) else [types]
        if not any(_type_ok(value, t) for t in types):
            return [f"{where}: {type(value).__name__} {value!r:.60} is not {'/'.join(types)}"]
    if isinstance(value, dict) and ("properties" in schema or "additional" in schema):
        props = schema.get("properties", {})
        optional = set(schema.get("optional", []))
        for k, s in props.items():
            if k in value:
                out += errors(value[k], s, defs, f"{where}.{k}")
            elif k not in optional and "additional" not in schema:
                out.append(f"{where}: key {k!r} is missing")
        for k in value:
            if k in props:
                continue
            if "additional" in schema:
                out += errors(value[k], schema["additional"], defs, f"{where}.{k}")
            else:
                out.append(f"{where}: key {k!r} is not in the schema")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            out += errors(v, schema["items"], defs, f"{where}[{i}]")
    return out
