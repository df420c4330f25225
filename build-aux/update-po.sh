#!/bin/bash
# Regenerates po/POTFILES.in (build-aux/potfiles.sh), po/passage.pot from the files it lists, and merges it into every
# language in po/LINGUAS. Rust sources are read with xgettext's C lexer (keywords tr, tr_f, tr_n);
# the polkit policy through gettext's own ITS rules.
# usage: build-aux/update-po.sh [--pot-only OUT]   (write a fresh template to OUT and stop)
set -euo pipefail
cd "$(dirname "$0")/.."
make_pot(){ # OUT
  local t; t=$(mktemp -d)
  grep '\.rs$' po/POTFILES.in > "$t/rs.list"
  grep -v '\.rs$' po/POTFILES.in > "$t/other.list" || true
  xgettext --from-code=UTF-8 --language=C --keyword=tr --keyword=tr_f --keyword=tr_n:1,2 --add-comments=TRANSLATORS -f "$t/rs.list" -o "$t/rs.pot"
  if [ -s "$t/other.list" ]; then
    xgettext --from-code=UTF-8 -f "$t/other.list" -o "$t/other.pot"
    sed -i 's/charset=CHARSET/charset=UTF-8/' "$t/rs.pot" "$t/other.pot"
    msgcat "$t/rs.pot" "$t/other.pot" -o "$1"
  else
    cp "$t/rs.pot" "$1"
  fi
  sed -i 's/^"Project-Id-Version: .*\\n"$/"Project-Id-Version: passage\\n"/; s/charset=CHARSET/charset=UTF-8/' "$1"
  rm -rf "$t"
}
if [ "${1:-}" = --pot-only ]; then make_pot "$2"; exit 0; fi
build-aux/potfiles.sh > po/POTFILES.in
make_pot po/passage.pot
for l in $(cat po/LINGUAS); do msgmerge -q --no-fuzzy-matching --update --backup=none "po/$l.po" po/passage.pot; done
