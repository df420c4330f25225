# Sourced: the Debian mirror this machine's apt already uses (never a hard-coded host).
# `debian_mirror SUITE` prints the URI of the first source that serves SUITE as binary packages
# (deb822 stanzas in /etc/apt/sources.list.d/*.sources, then one-line entries in
# /etc/apt/sources.list); `debian_mirror bookworm-security` the one for security updates.
# Prints nothing when none does.
debian_mirror() {
  { awk -v s="$1" '
      function flush() { if (u != "" && deb && hit && on) print u; u = ""; deb = 0; hit = 0; on = 1 }
      BEGIN { on = 1 }
      FNR == 1 { flush() }
      /^[ \t]*$/ { flush(); next }
      /^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
      /^URIs:/ { u = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) hit = 1 }
      /^Enabled:[ \t]*no/ { on = 0 }
      END { flush() }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
    [ ! -f /etc/apt/sources.list ] || sed 's/\[[^]]*\] *//' /etc/apt/sources.list | awk -v s="$1" '$1 == "deb" && $3 == s { print $2 }'
  } | awk 'NR == 1'
}
