"""Checks that every code block in README.md and docs/*.md marked `<!-- snippet: PATH -->` appears verbatim in
PATH (a file of the repository that the build compiles and ctest runs), so the documentation's
examples cannot drift from code that is tested. Exits 1 naming each stale block."""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
pattern = re.compile(r"<!-- snippet: (\S+) -->\n```[a-z]*\n(.*?)```", re.S)
checked, stale = 0, []
for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
    for match in pattern.finditer(doc.read_text()):
        source = root / match.group(1)
        checked += 1
        if not source.is_file() or match.group(2) not in source.read_text():
            stale.append(f"{doc.relative_to(root)}: block quoting {match.group(1)} is not in that file")
for line in stale:
    print(line, file=sys.stderr)
print(f"{checked} snippets checked, {len(stale)} stale")
sys.exit(1 if stale or checked == 0 else 0)
