# Sourced by check-install.sh (meson install) and check-package.sh (the Debian package): the
# files Passage installs below the prefix /usr, one per line, for the application id $1.
install_layout() {
  local id=$1 l
  echo "usr/bin/passage
usr/bin/passagectl
usr/lib/systemd/system/passage-helper.service
usr/lib/systemd/system/passage-helper-recover.service
usr/lib/systemd/system-preset/90-passage.preset
usr/libexec/passage-helper
usr/libexec/passagectl-vm
usr/share/applications/$id.desktop
usr/share/dbus-1/system-services/io.github.passage.Helper1.service
usr/share/dbus-1/system.d/io.github.passage.Helper1.conf
usr/share/glib-2.0/schemas/$id.gschema.xml
usr/share/icons/hicolor/scalable/apps/$id.svg
usr/share/icons/hicolor/symbolic/apps/$id-symbolic.svg
usr/share/metainfo/$id.metainfo.xml
usr/share/polkit-1/actions/io.github.passage.policy"
  for l in $(cat "$(dirname "${BASH_SOURCE[0]}")/../po/LINGUAS"); do
    echo "usr/share/locale/$l/LC_MESSAGES/passage.mo"
  done
}
