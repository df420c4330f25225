#!/bin/bash
# The translation pipeline is sound: every source with translatable strings is in
# po/POTFILES.in (and nothing listed is missing), the template is current, every language
# compiles, and each translation keeps its {placeholders}.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
want=$(build-aux/potfiles.sh)
have=$(sort po/POTFILES.in)
if [ "$want" != "$have" ]; then echo "po/POTFILES.in is out of date; it should list:"; echo "$want"; fail=1; fi
for f in $have; do [ -f "$f" ] || { echo "po/POTFILES.in lists $f, which does not exist"; fail=1; }; done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
build-aux/update-po.sh --pot-only "$tmp/fresh.pot"
ids(){ msgcat --no-wrap --sort-output "$1" | grep '^msgid '; }
if [ "$(ids "$tmp/fresh.pot")" != "$(ids po/passage.pot)" ]; then echo "po/passage.pot is stale: run build-aux/update-po.sh"; fail=1; fi
# A count is said through tr_n (ngettext), never as "thing(s)".
if msgcat --no-wrap po/passage.pot | grep -E '^msgid(_plural)? ".*[A-Za-z]\(s\)' ; then
  echo 'po/passage.pot: the messages above make a plural with "(s)"; use tr_n (ngettext)'; fail=1
fi
for l in $(cat po/LINGUAS); do
  msgfmt --check -o /dev/null "po/$l.po" || fail=1
  python3 - "po/$l.po" <<'PY' || fail=1
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
bad = 0
join = lambda s: "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', s))
names = lambda s: sorted(re.findall(r"\{\w+\}", s))
for block in text.split("\n\n"):
    m = re.search(r'^msgid ((?:".*"\n)+)msgstr ((?:".*"\n?)+)', block + "\n", re.M)
    if m and join(m.group(2)) and names(join(m.group(1))) != names(join(m.group(2))):
        print(f"{sys.argv[1]}: placeholders differ in {join(m.group(1))!r}")
        bad = 1
    # A plural's forms keep its placeholders; {n} (tr_n fills it) may go from a form that
    # names one thing by a word.
    p = re.search(r'^msgid ((?:".*"\n)+)msgid_plural ((?:".*"\n)+)((?:msgstr\[\d\] (?:".*"\n?)+)+)', block + "\n", re.M)
    if p:
        want = [x for x in names(join(p.group(2))) if x != "{n}"]
        for form in re.findall(r'msgstr\[\d\] ((?:".*"\n?)+)', p.group(3)):
            have = join(form)
            if have and [x for x in names(have) if x != "{n}"] != want:
                print(f"{sys.argv[1]}: placeholders differ in a form of {join(p.group(2))!r}")
                bad = 1
sys.exit(bad)
PY
done
[ $fail = 0 ] && echo "po: POTFILES, template and translations are sound"
exit $fail
