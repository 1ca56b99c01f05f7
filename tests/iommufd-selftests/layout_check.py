#!/usr/bin/env python3
"""layout_check.py OUR_HEADER KERNEL_INCLUDE_DIR KERNEL_TEST_HEADER WORK_DIR

Checks that every struct the project's iommufd header declares has the
kernel's size, and each of its fields the kernel's offset and size: it
lists the structs and fields of OUR_HEADER, compiles one program printing
sizeof/offsetof of them against our header and one against the kernel's
(<linux/iommufd.h> from KERNEL_INCLUDE_DIR, and the selftest's
iommufd_test.h), and compares the two outputs.  A field only the project
declares (the `raw` member that sizes a partly spelled-out union) is not
looked up in the kernel's header, nor are cuse-iommu's own structs
(cuse_iommufd_*).  Prints "layout: N checked, M differ".
"""
import re
import subprocess
import sys

OURS_ONLY = {"raw"}


def fields_of(body, prefix=""):
    """Field paths of a struct body (nested structs and unions flattened to
    dotted paths, anonymous unions to their members' names)."""
    out = []
    i = 0
    while i < len(body):
        m = re.match(r"\s*(struct|union)\s*\{", body[i:])
        if m:
            depth, j = 1, i + m.end()
            while depth:
                depth += {"{": 1, "}": -1}.get(body[j], 0)
                j += 1
            inner = body[i + m.end():j - 1]
            tail = re.match(r"\s*(\w*)\s*;", body[j:])
            name = tail.group(1)
            sub = prefix + name + "." if name else prefix
            if name:
                out.append(prefix + name)
            out.extend(fields_of(inner, sub))
            i = j + tail.end()
            continue
        m = re.match(r"\s*([^;{}]+);", body[i:])
        if not m:
            break
        decl = m.group(1).strip()
        name = re.search(r"(\w+)\s*(\[[^\]]*\])*\s*$", decl).group(1)
        out.append(prefix + name)
        i += m.end()
    return out


def structs_of(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    found = {}
    for m in re.finditer(r"^struct (\w+) \{", text, flags=re.M):
        if m.group(1).startswith("cuse_"):
            continue  # the project's own: the kernel has none
        depth, j = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        found[m.group(1)] = fields_of(text[m.end():j - 1])
    return found


def program(structs, includes):
    lines = ["#include <stdio.h>", "#include <stddef.h>"]
    lines += ['#include "%s"' % h for h in includes]
    lines += ["#define F(s, f) printf(#s \" \" #f \" %zu %zu\\n\", offsetof(struct s, f), sizeof(((struct s *)0)->f))",
              "int main(void)", "{"]
    for name, fields in structs.items():
        lines.append('\tprintf("%s size %%zu\\n", sizeof(struct %s));' % (name, name))
        for f in fields:
            if f.split(".")[-1] not in OURS_ONLY:
                lines.append("\tF(%s, %s);" % (name, f))
    lines += ["\treturn 0;", "}"]
    return "\n".join(lines) + "\n"


def run(src, flags, work, tag):
    c = "%s/layout_%s.c" % (work, tag)
    exe = "%s/layout_%s" % (work, tag)
    with open(c, "w") as f:
        f.write(src)
    subprocess.run(["gcc", "-std=gnu11", "-o", exe, c] + flags, check=True)
    return subprocess.run([exe], check=True, capture_output=True, text=True).stdout.splitlines()


def main():
    ours, kinc, ktest, work = sys.argv[1:5]
    structs = structs_of(open(ours).read())
    mine = run(program(structs, [ours]), [], work, "ours")
    theirs = run(program(structs, ["linux/iommufd.h", ktest]), ["-isystem", kinc], work, "kernel")
    differ = [(a, b) for a, b in zip(mine, theirs) if a != b]
    for a, b in differ:
        print("layout: differs: ours '%s', kernel '%s'" % (a, b))
    print("layout: %d checked, %d differ" % (len(mine), len(differ) + abs(len(mine) - len(theirs))))
    return 1 if differ or len(mine) != len(theirs) else 0


if __name__ == "__main__":
    sys.exit(main())
