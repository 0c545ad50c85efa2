#!/usr/bin/env python3
"""Fails when README.md or a docs page names something that does not exist
(test docs.names):

- a header `<factum/...>`, or a path in the repository (`include/factum/...`,
  `tests/...`, `examples/...`, a relative link, and a link's `#heading`),
  that is not there;
- a symbol `factum::a::b`: its first name must be declared in include/ (a
  type, namespace, concept, alias, function, variable, enumerator or macro),
  and every later name must occur in include/'s code (comments and strings
  left out); inside ```cmake blocks, and in prose for the names CMake exports
  (`factum::sqlite`), it is a CMake target instead;
- a quoted diagnostic (``factum aggregate: ...``, or the text after
  "static assertion failed: "), which must be a message of include/, word for
  word.

Usage: names.py SOURCE_DIR PAGE.md...  Prints one line per problem,
`page:line: what`, and exits 1 when there is any.
"""
import pathlib
import re
import sys

IDENT = r"[A-Za-z_]\w*"


def strip_code(text):
    """(code without comments and string literals, the string literals joined
    as the compiler joins adjacent ones)."""
    out, literals = [], []
    i, n, last_was_literal = 0, len(text), False
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c == '"' or (c == "R" and text.startswith('R"', i)):
            if c == "R":
                m = re.match(r'R"([^(]*)\(', text[i:])
                end = text.find(")" + m.group(1) + '"', i)
                body = text[i + len(m.group(0)):end]
                i = end + len(m.group(1)) + 2
            else:
                j = i + 1
                while j < n and text[j] != '"':
                    j += 2 if text[j] == "\\" else 1
                body = text[i + 1:j].replace('\\"', '"').replace("\\\\", "\\")
                i = j + 1
            if last_was_literal:
                literals[-1] += body
            else:
                literals.append(body)
            last_was_literal = True
            out.append(' "" ')
            continue
        elif c == "'" and i > 0 and not text[i - 1].isalnum():
            j = i + 1
            while j < n and text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            out.append(" 'c' ")
        else:
            out.append(c)
            i += 1
        if not c.isspace():
            last_was_literal = False
    return "".join(out), literals


def index(source):
    declared, words, literals, targets = set(), set(), [], set()
    for header in sorted((source / "include").rglob("*.hpp")):
        code, lits = strip_code(header.read_text(encoding="utf-8"))
        literals += lits
        words.update(re.findall(IDENT, code))
        for pattern in (
            rf"\b(?:struct|class|union|concept|enum(?:\s+class)?)\s+({IDENT})",
            rf"\busing\s+({IDENT})\s*=",
            rf"#\s*define\s+({IDENT})",
            rf"[\w>&*\]]\s+({IDENT})\s*\(",                # functions
            rf"[\w>&*]\s+({IDENT})\s*(?:=[^=]|\{{|;|\[)",  # variables, members
        ):
            declared.update(re.findall(pattern, code))
        for names in re.findall(rf"\bnamespace\s+({IDENT}(?:::{IDENT})*)", code):
            declared.update(names.split("::"))
        for body in re.findall(r"\benum\s+(?:class\s+)?\w+[^{;]*\{([^}]*)\}", code):
            declared.update(re.findall(rf"({IDENT})\s*(?:=[^,]*)?(?:,|$)", body.strip()))
    for cmake in [source / "CMakeLists.txt", *sorted((source / "cmake").glob("*"))]:
        if cmake.is_file():
            text = cmake.read_text(encoding="utf-8", errors="replace")
            targets.update(re.findall(rf"\bfactum::({IDENT})", text))
    return declared, words, literals, targets


def fenced(lines):
    """Yields (line number, line, the info string of its block or None)."""
    info = None
    for number, line in enumerate(lines, 1):
        fence = re.match(r"\s*```(.*)$", line)
        if fence and info is None:
            info = fence.group(1).strip() or "text"
            continue
        if fence and info is not None:
            info = None
            continue
        yield number, line, info


def anchors(page):
    """The anchors GitHub makes of a page's headings."""
    found = set()
    for _, line, info in fenced(page.read_text(encoding="utf-8").split("\n")):
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line) if info is None else None
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
            found.add(slug)
    return found


def check(source, page, names):
    declared, words, literals, targets = names
    problems = []
    text = page.read_text(encoding="utf-8")
    where = page.relative_to(source) if page.is_relative_to(source) else page

    def problem(number, what):
        problems.append(f"{where}:{number}: {what}")

    for number, line, info in fenced(text.split("\n")):
        language = (info or "").split(" ")[0]
        for header in re.findall(r"<(factum/[\w./-]+)>", line):
            if not (source / "include" / header).is_file():
                problem(number, f"<{header}>: no such header in include/")
        for path in re.findall(
                r"(?<![\w/.-])((?:include|src|tests|examples|tools|scripts|bench|cmake|docs)"
                r"/[\w./-]*\w)", line):
            if not (source / path).exists():
                problem(number, f"{path}: no such file in the repository")
        if info is None:
            for link, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", line):
                if re.match(r"\w+:", link):
                    continue
                target = page.parent / link if link else page
                if not target.exists():
                    problem(number, f"link {link}: no such file")
                elif anchor and target.suffix == ".md" and anchor not in anchors(target):
                    problem(number, f"link {link}#{anchor}: no such heading")
        for symbol in re.findall(rf"\bfactum::({IDENT}(?:::{IDENT})*)", line):
            parts = symbol.split("::")
            if language == "cmake" or (info is None and parts[0] in targets and len(parts) == 1):
                if parts[0] not in targets and language == "cmake":
                    problem(number, f"factum::{symbol}: no such CMake target")
                continue
            if parts[0] not in declared:
                problem(number, f"factum::{symbol}: '{parts[0]}' is not declared in include/")
            for part in parts[1:]:
                if part not in words:
                    problem(number, f"factum::{symbol}: '{part}' is not in include/")
        quoted = re.findall(r"``\s?(factum [a-z ]+: .+?)\s?``", line)
        quoted += re.findall(r"(?<!`)`(factum [a-z ]+: [^`]+)`(?!`)", line)
        quoted += re.findall(r"static assertion failed: (factum [a-z ]+: .*)$", line)
        for message in quoted:
            if not any(message in literal for literal in literals):
                problem(number, f"diagnostic '{message}' is not a message of include/")
    return problems


def main():
    source = pathlib.Path(sys.argv[1]).resolve()
    pages = [pathlib.Path(p).resolve() for p in sys.argv[2:]]
    if not pages:
        sys.exit("usage: names.py SOURCE_DIR PAGE.md...")
    names = index(source)
    problems = [p for page in pages for p in check(source, page, names)]
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} name(s) in the docs that the code does not have")
        return 1
    print(f"{len(pages)} pages: every header, path, symbol and diagnostic they name exists")
    return 0


if __name__ == "__main__":
    sys.exit(main())
