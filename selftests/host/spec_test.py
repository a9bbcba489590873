#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host test: the YNL spec of the qkdkey netlink family agrees with the uapi
header and carries the semantics of Documentation/netlink.rst.

Parses Documentation/netlink/specs/qkdkey.yaml (python3-yaml) and
uapi/linux/qkdkey.h (a small C enum/#define parser of our own), derives the
C names and values from the spec the way the YNL generators do, and compares.

Other files can be checked (e.g. mutated copies) with
  --spec FILE --header FILE --rst FILE
or the environment variables QKDKEY_SPEC, QKDKEY_UAPI_HEADER,
QKDKEY_NETLINK_RST. Output is TAP, ending with "N passed, N failed"; the exit
status is non-zero when any check fails.
"""

import argparse
import ast
import os
import re
import sys

try:
    import yaml
except ImportError:
    print("not ok 1 - python3-yaml is installed (apt-get install python3-yaml)")
    print("0 passed, 1 failed")
    sys.exit(1)

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


# --------------------------------------------------------------------- TAP

class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, cond, desc, diag=None):
        self.n += 1
        if cond:
            print(f"ok {self.n} - {desc}")
        else:
            self.failed += 1
            print(f"not ok {self.n} - {desc}")
            if diag:
                for line in str(diag).splitlines():
                    print(f"#   {line}")
        return bool(cond)

    def eq(self, got, want, desc):
        return self.check(got == want, desc, f"got {got!r}, want {want!r}")

    def finish(self):
        print(f"1..{self.n}")
        print(f"{self.n - self.failed} passed, {self.failed} failed")
        return 1 if self.failed else 0


# ------------------------------------------------------------ C header parser

def strip_comments(text):
    """Remove /* */ and // comments, keeping string and char literals and
    line structure (a comment becomes a space, its newlines stay)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                if text[j] == "\\":
                    j += 1
                elif text[j] == "\n":
                    raise ValueError(f"unterminated literal at offset {i}")
                j += 1
            if j >= n:
                raise ValueError(f"unterminated literal at offset {i}")
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise ValueError(f"unterminated comment at offset {i}")
            out.append(" " + "\n" * text.count("\n", i, j))
            i = j + 2
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        else:
            out.append(c)
            i += 1
    return "".join(out)


_INT_RE = re.compile(r"\b(0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]*\b")
_ALLOWED_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod,
                   ast.LShift, ast.RShift, ast.BitOr, ast.BitAnd, ast.BitXor)
_ALLOWED_UNOPS = (ast.UAdd, ast.USub, ast.Invert)


def c_int_expr(expr, symbols):
    """Evaluate a C integer constant expression made of literals, known
    symbols, parentheses and + - * / % << >> | & ^ ~. Raises ValueError."""
    expr = expr.strip()
    if not expr:
        raise ValueError("empty expression")

    def lit(m):
        s = m.group(1)
        if len(s) > 1 and s[0] == "0" and s[1] not in "xX":
            return str(int(s, 8))
        return str(int(s, 0))

    py = _INT_RE.sub(lit, expr).replace("/", "//")
    try:
        tree = ast.parse(py, mode="eval")
    except SyntaxError as e:
        raise ValueError(f"not an integer expression: {expr!r}") from e

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in symbols or not isinstance(symbols[node.id], int):
                raise ValueError(f"unknown symbol {node.id} in {expr!r}")
            return symbols[node.id]
        if isinstance(node, ast.BinOp) and isinstance(node.op, _ALLOWED_BINOPS):
            a, b = ev(node.left), ev(node.right)
            return {ast.Add: lambda: a + b, ast.Sub: lambda: a - b,
                    ast.Mult: lambda: a * b, ast.FloorDiv: lambda: a // b,
                    ast.Mod: lambda: a % b, ast.LShift: lambda: a << b,
                    ast.RShift: lambda: a >> b, ast.BitOr: lambda: a | b,
                    ast.BitAnd: lambda: a & b,
                    ast.BitXor: lambda: a ^ b}[type(node.op)]()
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, _ALLOWED_UNOPS):
            v = ev(node.operand)
            return {ast.UAdd: v, ast.USub: -v, ast.Invert: ~v}[type(node.op)]
        raise ValueError(f"unsupported construct in {expr!r}")

    return ev(tree)


def split_top_level(body, sep=","):
    parts, depth, cur = [], 0, []
    for ch in body:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


class Header:
    """#defines (ints, strings, or raw text) and enums of a uapi header."""

    def __init__(self, text):
        self.defines = {}       # name -> int | str (string literal) | raw text
        self.enums = {}         # enum tag -> {member: value} (ordered)
        self.member_types = {}  # member -> type word from its trailing comment
        self.symbols = {}       # ints usable in expressions
        self._type_comments(text)
        code = strip_comments(text).replace("\\\n", " ")
        self._parse(code)

    TYPE_WORDS = ("u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64",
                  "string", "binary", "flag", "nest", "pad")

    def _type_comments(self, text):
        # "NAME[ = expr], /* u32 ... */": the first word of the comment,
        # when it is a netlink type, documents the attribute's type.
        rx = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:=[^,/]*)?,?\s*/\*\s*([a-z0-9]+)\b",
                        re.M)
        for m in rx.finditer(text):
            if m.group(2) in self.TYPE_WORDS:
                self.member_types[m.group(1)] = m.group(2)

    def _parse(self, code):
        # Walk the file in order so that enums can use earlier defines and
        # defines can use earlier enum members.
        rx = re.compile(
            r"^[ \t]*#[ \t]*define[ \t]+(?P<dname>[A-Za-z_]\w*)(?P<fn>\()?(?P<dval>[^\n]*)$"
            r"|\benum\s+(?P<ename>[A-Za-z_]\w*)?\s*\{(?P<ebody>[^{}]*)\}\s*;",
            re.M)
        for m in rx.finditer(code):
            if m.group("dname"):
                if m.group("fn"):
                    continue            # function-like macro
                self._define(m.group("dname"), m.group("dval").strip())
            else:
                self._enum(m.group("ename") or f"<anon@{m.start()}>",
                           m.group("ebody"))

    def _define(self, name, val):
        sm = re.fullmatch(r'"((?:[^"\\]|\\.)*)"', val)
        if sm:
            self.defines[name] = sm.group(1)
            return
        try:
            v = c_int_expr(val, self.symbols)
        except ValueError:
            self.defines[name] = val    # e.g. _IOW(...), or empty
            return
        self.defines[name] = v
        self.symbols[name] = v

    def _enum(self, tag, body):
        members = {}
        nxt = 0
        for item in split_top_level(body):
            item = " ".join(item.split())
            if not item:
                continue                # trailing comma
            m = re.fullmatch(r"([A-Za-z_]\w*)\s*(?:=\s*(.+))?", item)
            if not m:
                raise ValueError(f"enum {tag}: cannot parse member {item!r}")
            name, expr = m.group(1), m.group(2)
            if name in members or name in self.symbols:
                raise ValueError(f"enum {tag}: {name} defined twice")
            val = c_int_expr(expr, self.symbols) if expr is not None else nxt
            members[name] = val
            self.symbols[name] = val
            nxt = val + 1
        if tag in self.enums:
            raise ValueError(f"enum {tag} defined twice")
        self.enums[tag] = members


# ---------------------------------------------------------- spec (YNL rules)

def c_upper(name):
    return name.upper().replace("-", "_")


def c_lower(name):
    return name.lower().replace("-", "_")


ATTR_TYPES = {"unused", "pad", "flag", "binary", "bitfield32", "u8", "u16",
              "u32", "u64", "s8", "s16", "s32", "s64", "string", "nest",
              "array-nest", "nest-type-value"}
SCALAR_TYPES = {"u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64"}
CHECK_KEYS = {"flags-mask", "min", "max", "min-len", "max-len", "exact-len"}

# Keys the genetlink-legacy schema allows at each level (typos are bugs:
# the generators silently ignore unknown keys).
ALLOWED = {
    "top": {"name", "doc", "protocol", "uapi-header", "c-family-name",
            "c-version-name", "max-by-define", "cmd-max-name", "cmd-cnt-name",
            "kernel-policy", "version", "definitions", "attribute-sets",
            "operations", "mcast-groups"},
    "definition": {"name", "header", "type", "doc", "value", "value-start",
                   "entries", "render-max", "enum-name", "name-prefix",
                   "members"},
    "entry": {"name", "value", "doc"},
    "attr-set": {"name", "name-prefix", "enum-name", "doc", "subset-of",
                 "attr-cnt-name", "attr-max-name", "attributes"},
    "attr": {"name", "type", "doc", "value", "type-value", "byte-order",
             "multi-attr", "nested-attributes", "enum", "enum-as-flags",
             "checks", "sub-type", "display-hint", "name-prefix", "struct"},
    "operations": {"enum-model", "name-prefix", "enum-name", "async-prefix",
                   "async-enum", "fixed-header", "list"},
    "op": {"name", "doc", "value", "attribute-set", "flags", "dont-validate",
           "fixed-header", "do", "dump", "notify", "event", "mcgrp",
           "config-cond"},
    "subop": {"request", "reply", "pre", "post"},
    "msg": {"attributes", "value"},
    "event": {"attributes"},
    "mcast-groups": {"list"},
    "mcgrp": {"name", "c-define-name", "flags"},
}


class Spec:
    """The spec with every C name and value derived as YNL does."""

    def __init__(self, y):
        self.y = y
        self.name = y["name"]
        fam = c_upper(self.name)
        self.protocol = y.get("protocol", "genetlink")
        self.version = y.get("version", 1)
        self.family_define = c_upper(y.get("c-family-name",
                                           f"{self.name}-family-name"))
        self.version_define = c_upper(y.get("c-version-name",
                                            f"{self.name}-family-version"))

        # definitions: consts and enums
        self.consts = {}        # C define -> value
        self.enums = {}         # spec enum name -> (C tag, {C name: value}, yaml)
        for d in y.get("definitions", []):
            if d.get("type") == "const":
                self.consts[f"{fam}_{c_upper(d['name'])}"] = d.get("value")
            elif d.get("type") in ("enum", "flags"):
                prefix = d.get("name-prefix", f"{self.name}-{d['name']}-")
                tag = d.get("enum-name", f"{self.name}-{d['name']}")
                tag = c_lower(tag) if tag else None
                val = d.get("value-start", 0)
                entries = {}
                for i, e in enumerate(d.get("entries", [])):
                    ename = e if isinstance(e, str) else e["name"]
                    if isinstance(e, dict) and "value" in e:
                        val = e["value"]
                    v = val if d["type"] == "enum" else 1 << val
                    entries[c_upper(prefix + ename)] = v
                    val += 1
                self.enums[d["name"]] = (tag, entries, d)

        # attribute sets: values start at 1 unless given
        self.sets = {}          # set name -> dict
        for s in y.get("attribute-sets", []):
            prefix = s.get("name-prefix", f"{self.name}-{s['name']}-a-")
            attrs, by_c, val = {}, {}, 1
            for a in s.get("attributes", []):
                if "value" in a:
                    val = a["value"]
                cname = c_upper(prefix + a["name"])
                attrs[a["name"]] = dict(a, value=val, cname=cname)
                by_c[cname] = val
                val += 1
            self.sets[s["name"]] = {
                "yaml": s,
                "tag": c_lower(s.get("enum-name",
                                     f"{self.name}-{s['name']}-attrs")),
                "attrs": attrs,
                "by_c": by_c,
                "cnt": c_upper(s.get("attr-cnt-name", f"__{prefix}max")),
                "max": c_upper(s.get("attr-max-name", f"{prefix}max")),
            }

        # operations: unified model, values start at 1 unless given
        ops = y.get("operations", {})
        prefix = ops.get("name-prefix", f"{self.name}-cmd-")
        self.ops_tag = c_lower(ops.get("enum-name", f"{self.name}-cmd"))
        self.ops_cnt = c_upper(y.get("cmd-cnt-name", f"__{prefix}max"))
        self.ops_max = c_upper(y.get("cmd-max-name", f"{prefix}max"))
        self.ops = {}
        self.ops_by_c = {}
        val = 1
        for o in ops.get("list", []):
            if "value" in o:
                val = o["value"]
            cname = c_upper(prefix + o["name"])
            self.ops[o["name"]] = dict(o, value=val, cname=cname)
            self.ops_by_c[cname] = val
            val += 1

        self.mcgrps = {}        # name -> (C define, yaml)
        for g in y.get("mcast-groups", {}).get("list", []):
            define = c_upper(g.get("c-define-name",
                                   f"{self.name}-mcgrp-{g['name']}"))
            self.mcgrps[g["name"]] = (define, g)

    def op_attr_lists(self, op):
        """(where, attribute names) for every message an operation names."""
        out = []
        for mode in ("do", "dump"):
            sub = op.get(mode) or {}
            for kind in ("request", "reply"):
                msg = sub.get(kind)
                if msg is not None:
                    out.append((f"{mode} {kind}", msg.get("attributes") or []))
        if "event" in op:
            out.append(("event", (op["event"] or {}).get("attributes") or []))
        return out

    def op_reply_attrs(self, op):
        """Attributes the kernel sends for an op, following notify."""
        if "notify" in op and op["notify"] in self.ops:
            op = self.ops[op["notify"]]
        names = []
        for where, attrs in self.op_attr_lists(op):
            if not where.endswith("request"):
                names += attrs
        return names


# ------------------------------------------------------------------ checks

def check_schema(t, spec):
    """Keys and enumerated values allowed by the genetlink-legacy schema."""
    y = spec.y
    bad = []

    def keys(obj, level, where):
        if not isinstance(obj, dict):
            bad.append(f"{where}: not a mapping")
            return
        extra = set(obj) - ALLOWED[level]
        if extra:
            bad.append(f"{where}: unknown keys {sorted(extra)}")

    keys(y, "top", "top level")
    for d in y.get("definitions", []):
        keys(d, "definition", f"definition {d.get('name')}")
        for e in d.get("entries", []):
            if isinstance(e, dict):
                keys(e, "entry", f"definition {d.get('name')} entry")
    for s in y.get("attribute-sets", []):
        keys(s, "attr-set", f"attribute-set {s.get('name')}")
        for a in s.get("attributes", []):
            keys(a, "attr", f"attribute {s.get('name')}.{a.get('name')}")
            if a.get("type") not in ATTR_TYPES:
                bad.append(f"attribute {s.get('name')}.{a.get('name')}: "
                           f"type {a.get('type')!r}")
            chk = a.get("checks", {})
            if set(chk) - CHECK_KEYS:
                bad.append(f"attribute {a.get('name')}: unknown checks "
                           f"{sorted(set(chk) - CHECK_KEYS)}")
    ops = y.get("operations", {})
    keys(ops, "operations", "operations")
    for o in ops.get("list", []):
        keys(o, "op", f"operation {o.get('name')}")
        if "doc" not in o:
            bad.append(f"operation {o.get('name')}: no doc")
        for f in o.get("flags", []):
            if f not in ("admin-perm", "uns-admin-perm"):
                bad.append(f"operation {o.get('name')}: flag {f!r}")
        for mode in ("do", "dump"):
            if mode in o:
                keys(o[mode] or {}, "subop", f"operation {o['name']} {mode}")
                for kind in ("request", "reply"):
                    if kind in (o[mode] or {}):
                        keys(o[mode][kind] or {}, "msg",
                             f"operation {o['name']} {mode} {kind}")
        if "event" in o:
            keys(o["event"] or {}, "event", f"operation {o['name']} event")
    keys(y.get("mcast-groups", {}), "mcast-groups", "mcast-groups")
    for g in y.get("mcast-groups", {}).get("list", []):
        keys(g, "mcgrp", f"mcast group {g.get('name')}")
        for f in g.get("flags", []):
            if f != "admin-perm":
                bad.append(f"mcast group {g.get('name')}: flag {f!r}")

    t.check(not bad, "spec uses only keys and values of the genetlink-legacy schema",
            "\n".join(bad))
    t.eq(spec.protocol, "genetlink-legacy",
         "spec protocol is genetlink-legacy (needed for 'version')")
    for req in ("name", "doc", "attribute-sets", "operations"):
        t.check(req in y, f"spec has required top-level key '{req}'")


def check_family(t, spec, hdr):
    d = hdr.defines
    t.check(spec.family_define in d and d[spec.family_define] == spec.name,
            f"family name: {spec.family_define} == \"{spec.name}\"",
            f"header has {d.get(spec.family_define)!r}")
    t.check(spec.version_define in d and d[spec.version_define] == spec.version,
            f"family version: {spec.version_define} == {spec.version}",
            f"header has {d.get(spec.version_define)!r}")
    t.check(set(spec.mcgrps) == {"monitor"},
            "spec has exactly one multicast group, 'monitor'",
            f"groups: {sorted(spec.mcgrps)}")
    hdr_groups = {k for k in d if re.match(r"[A-Z0-9_]+_MCGRP_", k)}
    for g, (define, _) in spec.mcgrps.items():
        t.check(d.get(define) == g, f"mcast group: {define} == \"{g}\"",
                f"header has {d.get(define)!r}")
    t.check(hdr_groups <= {v[0] for v in spec.mcgrps.values()},
            "every *_MCGRP_* define of the header is a group of the spec",
            f"extra: {sorted(hdr_groups - {v[0] for v in spec.mcgrps.values()})}")
    for cname, val in spec.consts.items():
        t.check(d.get(cname) == val, f"const: {cname} == {val}",
                f"header has {d.get(cname)!r}")


def check_enum_block(t, what, tag, spec_map, hdr, cnt=None, mx=None):
    """spec_map: C name -> value. Compare both ways with enum `tag`."""
    if not t.check(tag in hdr.enums, f"{what}: header has enum {tag}",
                   f"header enums: {sorted(hdr.enums)}"):
        return
    members = dict(hdr.enums[tag])
    for cname, val in spec_map.items():
        t.check(members.get(cname) == val, f"{what}: {cname} = {val}",
                f"header: {members.get(cname, 'missing')!r}")
    limits = {k for k in (cnt, mx) if k}
    extra = [k for k in members if k not in spec_map and k not in limits]
    t.check(not extra, f"{what}: every member of enum {tag} is in the spec",
            f"not in spec: {extra}")
    if cnt and mx:
        top = max(spec_map.values()) if spec_map else 0
        t.check(members.get(cnt) == top + 1 and members.get(mx) == top,
                f"{what}: {cnt} = {top + 1}, {mx} = {top}",
                f"header: {cnt}={members.get(cnt)!r}, {mx}={members.get(mx)!r}")


def check_values_unique(t, what, mapping):
    seen, dup = {}, []
    for k, v in mapping.items():
        if v in seen:
            dup.append(f"{seen[v]} and {k} = {v}")
        seen[v] = k
    t.check(not dup, f"{what}: values are unique", "; ".join(dup))


def check_numbers(t, spec, hdr):
    for name in ("dir", "link-state"):
        t.check(name in spec.enums, f"spec defines enum '{name}'")
    for name, (tag, entries, d) in spec.enums.items():
        check_values_unique(t, f"enum {name}", entries)
        cnt = mx = None
        if d.get("render-max"):
            pfx = d.get("name-prefix", f"{spec.name}-{name}-")
            cnt, mx = c_upper(f"__{pfx}max"), c_upper(f"{pfx}max")
        check_enum_block(t, f"enum {name}", tag, entries, hdr, cnt, mx)

    for name in ("link", "counter", "sim"):
        t.check(name in spec.sets, f"spec defines attribute-set '{name}'")
    for name, s in spec.sets.items():
        check_values_unique(t, f"attribute-set {name}", s["by_c"])
        check_enum_block(t, f"attribute-set {name}", s["tag"], s["by_c"], hdr,
                         s["cnt"], s["max"])
        # The header's comments document each attribute's type.
        for a in s["attrs"].values():
            ht = hdr.member_types.get(a["cname"])
            if ht is not None:
                t.eq(a.get("type"), ht,
                     f"attribute-set {name}: {a['cname']} type matches the "
                     f"header comment ({ht})")

    check_values_unique(t, "operations", spec.ops_by_c)
    check_enum_block(t, "operations", spec.ops_tag, spec.ops_by_c, hdr,
                     spec.ops_cnt, spec.ops_max)


def check_references(t, spec):
    for name, s in spec.sets.items():
        bad = []
        for a in s["attrs"].values():
            if a.get("type") == "nest" and a.get("nested-attributes") not in spec.sets:
                bad.append(f"{a['name']}: nested-attributes "
                           f"{a.get('nested-attributes')!r}")
            if "enum" in a and a["enum"] not in spec.enums:
                bad.append(f"{a['name']}: enum {a['enum']!r}")
            for k in ("min", "max", "min-len", "max-len", "exact-len"):
                if k in a.get("checks", {}) and not isinstance(a["checks"][k], int):
                    bad.append(f"{a['name']}: checks.{k} is not a literal integer")
            if {"min", "max"} & set(a.get("checks", {})) and a.get("type") not in SCALAR_TYPES:
                bad.append(f"{a['name']}: min/max on a {a.get('type')}")
            if {"min-len", "max-len", "exact-len"} & set(a.get("checks", {})) \
                    and a.get("type") not in ("string", "binary"):
                bad.append(f"{a['name']}: length check on a {a.get('type')}")
        t.check(not bad, f"attribute-set {name}: nests, enums and checks are well-formed",
                "\n".join(bad))
        u64 = [a["name"] for a in s["attrs"].values() if a.get("type") == "u64"]
        pads = [a["name"] for a in s["attrs"].values() if a.get("type") == "pad"]
        if u64:
            t.check(len(pads) == 1,
                    f"attribute-set {name}: has u64 attributes and one pad attribute",
                    f"pads: {pads}")

    for oname, op in spec.ops.items():
        if oname == "unspec":
            continue
        problems = []
        aset = op.get("attribute-set")
        if "notify" in op:
            tgt = spec.ops.get(op["notify"])
            if tgt is None:
                problems.append(f"notify: no operation {op['notify']!r}")
            elif not any(w.endswith("reply") for w, _ in spec.op_attr_lists(tgt)):
                problems.append(f"notify: {op['notify']} has no reply")
            aset = (tgt or {}).get("attribute-set")
        if aset not in spec.sets:
            problems.append(f"attribute-set {aset!r} does not exist")
        else:
            for where, attrs in spec.op_attr_lists(op):
                for a in attrs:
                    if a not in spec.sets[aset]["attrs"]:
                        problems.append(f"{where}: no attribute {a!r} in set {aset}")
                    elif spec.sets[aset]["attrs"][a].get("type") in ("unused", "pad"):
                        problems.append(f"{where}: {a!r} is {spec.sets[aset]['attrs'][a]['type']}")
                if len(set(attrs)) != len(attrs):
                    problems.append(f"{where}: an attribute is listed twice")
        if "mcgrp" in op and op["mcgrp"] not in spec.mcgrps:
            problems.append(f"mcgrp {op['mcgrp']!r} does not exist")
        if not any(k in op for k in ("do", "dump", "notify", "event")):
            problems.append("has none of do, dump, notify, event")
        t.check(not problems,
                f"operation {oname}: every attribute, set and group it names exists",
                "\n".join(problems))


EXPECT_OPS = ["unspec", "link-get", "link-new", "link-del", "link-set",
              "key-push", "link-add-ntf", "link-del-ntf", "link-change-ntf",
              "alarm-ntf", "low-watermark-ntf", "key-want-ntf"]
EXPECT_EVENTS = {
    # Documentation/netlink.rst, "Notifications" table
    "link-del-ntf": ["link-id", "link-name"],
    "alarm-ntf": ["link-id", "link-name", "link-state", "link-qber",
                  "link-qber-threshold"],
    "low-watermark-ntf": ["link-id", "link-name", "link-tx-avail",
                          "link-low-watermark"],
    "key-want-ntf": ["link-id", "link-name", "key-dir", "key-epoch",
                     "key-offset", "key-len"],
}


def attr(spec, set_name, name):
    return spec.sets.get(set_name, {}).get("attrs", {}).get(name, {})


def check_semantics(t, spec, hdr):
    """Facts Documentation/netlink.rst states that the spec must carry."""
    ops = spec.ops
    t.eq([o for o in ops], EXPECT_OPS,
         "operations are exactly those of netlink.rst, in uapi order")

    admin = sorted(n for n, o in ops.items() if "admin-perm" in o.get("flags", []))
    t.eq(admin, sorted(["link-new", "link-del", "link-set", "key-push"]),
         "admin-perm on exactly link-new, link-del, link-set, key-push")
    grp = spec.mcgrps.get("monitor", (None, {}))[1]
    t.check("admin-perm" in grp.get("flags", []),
            "joining 'monitor' needs CAP_NET_ADMIN (group flags: [admin-perm])")

    ntf = [n for n in ops if n.endswith("-ntf")]
    t.check(all(ops[n].get("mcgrp") == "monitor" and
                not ({"do", "dump", "flags"} & set(ops[n])) for n in ntf),
            "every *-ntf is a notification on 'monitor' with no do/dump/flags",
            [n for n in ntf if ops[n].get("mcgrp") != "monitor"
             or {"do", "dump", "flags"} & set(ops[n])])
    t.check(all("mcgrp" not in o for n, o in ops.items() if n not in ntf),
            "only notifications name a multicast group")
    t.check(all(ops.get(n, {}).get("notify") == "link-get"
                for n in ("link-add-ntf", "link-change-ntf")),
            "link-add-ntf and link-change-ntf carry the full link attributes "
            "(notify: link-get)")
    for n, want in EXPECT_EVENTS.items():
        got = (ops.get(n, {}).get("event") or {}).get("attributes")
        t.eq(sorted(got or []), sorted(want), f"{n} carries exactly {', '.join(want)}")

    lg = ops.get("link-get", {})
    t.check("do" in lg and "dump" in lg, "link-get has do and dump")
    t.check(not ((lg.get("dump") or {}).get("request") or {}).get("attributes"),
            "link-get dump takes no request attributes")
    t.eq(sorted(((lg.get("do") or {}).get("request") or {}).get("attributes") or []),
         ["link-id", "link-name"], "link-get do selects by link-id/link-name")
    want_reply = ["link-id", "link-name", "link-kind", "link-peer", "link-state",
                  "link-default", "link-epoch", "link-tx-avail",
                  "link-rx-avail", "link-qber", "link-qber-threshold",
                  "link-key-rate", "link-pool-limit", "link-low-watermark",
                  "link-counters", "link-sim"]
    for mode in ("do", "dump"):
        got = ((lg.get(mode) or {}).get("reply") or {}).get("attributes") or []
        t.eq(sorted(got), sorted(want_reply), f"link-get {mode} reply has the link attributes")

    def req(op):
        return set(((ops.get(op, {}).get("do") or {}).get("request") or {})
                   .get("attributes") or [])
    t.check({"link-name", "link-kind"} <= req("link-new"),
            "link-new takes link-name and link-kind (required)")
    t.check({"link-peer", "link-pool-limit", "link-qber-threshold",
             "link-low-watermark", "link-epoch", "link-sim"} <= req("link-new"),
            "link-new takes peer, pool, threshold, watermark, epoch, sim")
    t.check({"key-dir", "key-epoch", "key-offset", "key-data"} <= req("key-push")
            and {"link-id", "link-name"} <= req("key-push"),
            "key-push selects a link and takes dir, epoch, offset, data")
    t.check({"link-admin-up", "link-default", "link-qber-threshold",
             "link-pool-limit", "link-low-watermark", "link-sim", "link-qber",
             "link-key-rate", "link-epoch", "link-id", "link-name"} <= req("link-set"),
            "link-set takes every settable attribute of netlink.rst")
    t.eq(req("link-del"), {"link-id", "link-name"}, "link-del selects a link only")

    sent = [n for n, o in ops.items() if "key-data" in spec.op_reply_attrs(o)]
    t.check(not sent, "key-data is in no reply or notification (key never sent)", sent)
    t.check("key-data" not in req("link-new") | req("link-set") | req("link-del"),
            "key-data is only taken by key-push")

    name_max = hdr.defines.get("QKDKEY_NAME_LEN", 0) - 1
    t.eq(name_max, 15, "QKDKEY_NAME_LEN - 1 is 15")
    for a in ("link-name", "link-kind", "link-peer"):
        x = attr(spec, "link", a)
        t.check(x.get("type") == "string" and
                x.get("checks", {}).get("max-len") == name_max == 15,
                f"{a} is a string of at most 15 chars", x)
    seed = attr(spec, "sim", "seed")
    t.check(seed.get("type") == "binary" and seed.get("checks") == {"exact-len": 32},
            "sim seed is binary of exactly 32 bytes", seed)
    t.eq(hdr.defines.get("QKDKEY_SIM_SEED_LEN", 32), 32,
         "QKDKEY_SIM_SEED_LEN (if defined) is 32")
    kd = attr(spec, "link", "key-data")
    t.check(kd.get("type") == "binary" and
            kd.get("checks") == {"min-len": 1, "max-len": 32768},
            "key-data is binary of 1..32768 bytes", kd)
    pl = attr(spec, "link", "link-pool-limit")
    t.check(pl.get("type") == "u32" and
            pl.get("checks") == {"min": 4096, "max": 268435456},
            "link-pool-limit is u32 in 4096..268435456", pl)
    ppm = hdr.defines.get("QKDKEY_QBER_PPM_MAX")
    t.eq(ppm, 1000000, "QKDKEY_QBER_PPM_MAX is 1000000")
    for s, a in (("link", "link-qber"), ("link", "link-qber-threshold"),
                 ("sim", "qber"), ("sim", "eve")):
        x = attr(spec, s, a)
        t.check(x.get("type") == "u32" and x.get("checks") == {"max": ppm},
                f"{s}.{a} is u32 ppm, at most QKDKEY_QBER_PPM_MAX", x)
    au = attr(spec, "link", "link-admin-up")
    t.check(au.get("type") == "u8" and au.get("checks") == {"max": 1},
            "link-admin-up is u8, 0 or 1", au)
    kdir = attr(spec, "link", "key-dir")
    rx = hdr.enums.get("qkdkey_dir", {}).get("QKDKEY_DIR_RX")
    t.check(kdir.get("type") == "u32" and kdir.get("enum") == "dir" and
            kdir.get("checks") == {"max": rx} and rx == 1,
            "key-dir is u32 enum dir, at most QKDKEY_DIR_RX", kdir)
    t.eq(attr(spec, "link", "link-state").get("enum"), "link-state",
         "link-state uses enum link-state")
    for a, s in (("link-counters", "counter"), ("link-sim", "sim")):
        x = attr(spec, "link", a)
        t.check(x.get("type") == "nest" and x.get("nested-attributes") == s,
                f"{a} is a nest of attribute-set {s}", x)
    t.check(all(a.get("type") in ("u64", "pad", "unused")
                for a in spec.sets.get("counter", {}).get("attrs", {}).values()),
            "every counter is u64")


RST_TYPE_RE = re.compile(r"^([A-Z][A-Z0-9_]+)\s+(u8|u16|u32|u64|string|flag|nest|binary)\s",
                         re.M)


def check_rst(t, spec, rst):
    """The attribute table of netlink.rst names the same types as the spec."""
    rows = RST_TYPE_RE.findall(rst)
    if not t.check(len(rows) >= 20, "netlink.rst attribute table parsed",
                   f"{len(rows)} rows"):
        return
    link = spec.sets.get("link", {}).get("attrs", {})
    by_c = {a["cname"]: a for a in link.values()}
    for name, typ in rows:
        a = by_c.get("QKDKEY_A_" + name)
        t.check(a is not None and a.get("type") == typ,
                f"netlink.rst: {name} is {typ} in the spec",
                f"spec: {a.get('type') if a else 'missing'}")
    documented = {"QKDKEY_A_" + n for n, _ in rows}
    missing = [c for c, a in by_c.items()
               if c not in documented and a.get("type") not in ("unused", "pad")]
    t.check(not missing, "every link attribute of the spec is in netlink.rst's table",
            missing)


# --------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default=os.environ.get(
        "QKDKEY_SPEC", os.path.join(TOP, "Documentation/netlink/specs/qkdkey.yaml")))
    ap.add_argument("--header", default=os.environ.get(
        "QKDKEY_UAPI_HEADER", os.path.join(TOP, "uapi/linux/qkdkey.h")))
    ap.add_argument("--rst", default=os.environ.get(
        "QKDKEY_NETLINK_RST", os.path.join(TOP, "Documentation/netlink.rst")))
    args = ap.parse_args()

    t = Tap()
    try:
        with open(args.spec) as f:
            text = f.read()
        y = yaml.safe_load(text)
        ok = isinstance(y, dict)
        diag = "top level is not a mapping"
    except (OSError, yaml.YAMLError) as e:
        ok, diag, text = False, e, ""
    t.check(ok, f"spec parses as YAML ({os.path.relpath(args.spec, TOP)})", diag)
    t.check(text.startswith("# SPDX-License-Identifier: "
                            "((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause)\n"),
            "spec starts with the kernel specs' SPDX line")
    try:
        with open(args.header) as f:
            hdr = Header(f.read())
        hok, hdiag = True, None
    except (OSError, ValueError) as e:
        hok, hdiag = False, e
    t.check(hok, f"header parses ({os.path.relpath(args.header, TOP)})", hdiag)
    if not ok or not hok:
        return t.finish()
    try:
        spec = Spec(y)
    except (KeyError, TypeError, AttributeError) as e:
        t.check(False, "spec has the structure of a genetlink spec", repr(e))
        return t.finish()
    t.eq(spec.name, "qkdkey", "family is named qkdkey")

    check_schema(t, spec)
    check_family(t, spec, hdr)
    check_numbers(t, spec, hdr)
    check_references(t, spec)
    check_semantics(t, spec, hdr)
    try:
        with open(args.rst) as f:
            rst = f.read()
        check_rst(t, spec, rst)
    except OSError as e:
        t.check(False, "netlink.rst readable", e)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
