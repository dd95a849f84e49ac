#!/usr/bin/env python3
"""Validates OCSF events (JSON lines on stdin) against the OCSF schema source.

Usage: ocsf_validate.py SCHEMA_DIR < events.jsonl

Resolves each event's class from the schema source the way the OCSF server does:
a class's attributes are those of its parents ("extends", up to base_event), of the
files it "$include"s (profiles only when the event's metadata.profiles names them),
and its own; a later definition overrides requirement, enums are merged, types come
from dictionary.json. Objects resolve the same way from objects/. Checks: every
required attribute is present, no attribute is unknown, each value has its
dictionary type (string, integer, long, float, boolean, timestamp, object, array),
enum attributes hold a listed value, object constraints (at_least_one, just_one)
hold, metadata.version is the schema's version. Prints one line per problem and
exits 1 if there is any.
"""
import json
import os
import sys

root = sys.argv[1]
load = lambda p: json.load(open(os.path.join(root, p)))
dictionary = load("dictionary.json")
dict_attrs = dictionary["attributes"]
types = dictionary["types"]["attributes"]
version = load("version.json")["version"]


def merge(into, attrs, profiles):
    for name, spec in attrs.items():
        if name == "$include":
            for inc in (spec if isinstance(spec, list) else [spec]):
                if inc.startswith("profiles/") and os.path.basename(inc)[:-5] not in profiles:
                    continue
                merge(into, load(inc).get("attributes", {}), profiles)
            continue
        cur = into.setdefault(name, {})
        for k, v in spec.items():
            if k == "enum":
                cur.setdefault("enum", {}).update(v)
            else:
                cur[k] = v


def resolve(path, profiles, kind):
    """Attributes of a class (events/...) or object (objects/...) with its parents."""
    d = load(path)
    attrs = {}
    parent = d.get("extends")
    if parent:
        if kind == "class":
            ppath = "events/base_event.json" if parent == "base_event" else os.path.join(os.path.dirname(path), parent + ".json")
        else:
            ppath = "objects/%s.json" % parent
        attrs, _ = resolve(ppath, profiles, kind)
    merge(attrs, d.get("attributes", {}), profiles)
    return attrs, d


classes = {}
for f in ("events/findings/detection_finding.json", "events/findings/incident_finding.json"):
    classes[load(f)["uid"] + 2000] = f   # category 2 (findings): class_uid = 2000 + uid

problems = []


def base_type(t):
    while t in types and "type" in types[t]:
        t = types[t]["type"]
    return t


def check_value(where, name, spec, value, profiles):
    d = dict_attrs.get(name, {})
    t = spec.get("type", d.get("type"))
    is_array = spec.get("is_array", d.get("is_array", False))
    if is_array:
        if not isinstance(value, list):
            problems.append("%s.%s: expected an array" % (where, name))
            return
        for i, v in enumerate(value):
            check_scalar(where + "." + name + "[%d]" % i, name, t, spec, d, v, profiles)
    else:
        check_scalar(where + "." + name, name, t, spec, d, value, profiles)


def check_scalar(where, name, t, spec, d, v, profiles):
    bt = base_type(t) if t else None
    enum = dict(d.get("enum", {}))
    enum.update(spec.get("enum", {}))
    ok = True
    if bt == "string_t":
        ok = isinstance(v, str)
    elif bt in ("integer_t", "long_t"):
        ok = isinstance(v, int) and not isinstance(v, bool)
        if ok and bt == "integer_t":
            ok = -2**31 <= v < 2**31
    elif bt == "float_t":
        ok = isinstance(v, (int, float)) and not isinstance(v, bool)
    elif bt == "boolean_t":
        ok = isinstance(v, bool)
    elif bt == "json_t":
        ok = True
    elif t == "object":
        ok = isinstance(v, dict)   # a free-form object (unmapped)
    elif bt == "object_t" or (t and os.path.exists(os.path.join(root, "objects", t + ".json"))):
        if not isinstance(v, dict):
            ok = False
        else:
            check_object(where, t, v, profiles)
    if not ok:
        problems.append("%s: %r is not of type %s" % (where, v, t))
    if name in ("class_uid", "category_uid"):
        enum = {}   # the class fixes them; checked against the class below
    if enum and ok and str(v) not in enum:
        problems.append("%s: %r is not in the enum %s" % (where, v, sorted(enum, key=lambda x: int(x) if x.lstrip('-').isdigit() else 0)))


def check_attrs(where, attrs, value, profiles):
    for name, spec in attrs.items():
        if spec.get("requirement") == "required" and value.get(name) is None:
            problems.append("%s: required attribute %s is missing" % (where, name))
    for name, v in value.items():
        if name not in attrs:
            problems.append("%s: unknown attribute %s" % (where, name))
            continue
        if v is None:
            continue
        check_value(where, name, attrs[name], v, profiles)


def check_object(where, obj_type, value, profiles):
    attrs, d = resolve("objects/%s.json" % obj_type, profiles, "object")
    check_attrs(where, attrs, value, profiles)
    c = d.get("constraints", {})
    if "at_least_one" in c and not any(value.get(a) is not None for a in c["at_least_one"]):
        problems.append("%s: needs at least one of %s" % (where, c["at_least_one"]))
    if "just_one" in c and sum(value.get(a) is not None for a in c["just_one"]) != 1:
        problems.append("%s: needs exactly one of %s" % (where, c["just_one"]))


count = 0
for line_no, line in enumerate(sys.stdin, 1):
    if not line.strip():
        continue
    count += 1
    ev = json.loads(line)
    where = "event %d (%s)" % (line_no, ev.get("finding_info", {}).get("uid") or ev.get("class_uid"))
    cls = classes.get(ev.get("class_uid"))
    if cls is None:
        problems.append("%s: class_uid %r is not an exported finding class" % (where, ev.get("class_uid")))
        continue
    profiles = set(ev.get("metadata", {}).get("profiles", []))
    attrs, d = resolve(cls, profiles, "class")
    check_attrs(where, attrs, ev, profiles)
    if ev.get("type_uid") != ev.get("class_uid", 0) * 100 + ev.get("activity_id", -1):
        problems.append("%s: type_uid is not class_uid * 100 + activity_id" % where)
    if ev.get("category_uid") != 2:
        problems.append("%s: category_uid is not 2 (findings)" % where)
    if ev.get("metadata", {}).get("version") != version:
        problems.append("%s: metadata.version is not %s" % (where, version))

for p in problems:
    print(p)
print("%d events, %d problems (OCSF %s)" % (count, len(problems), version))
sys.exit(1 if problems or count == 0 else 0)
