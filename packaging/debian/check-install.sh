#!/bin/sh
# Run by `cargo xtask deb --check` as root inside a clean Debian root (no systemd running),
# with the package at /tmp/rota.deb: installs it with apt, then checks what the maintainer
# scripts promise through an upgrade, a removal and a purge. Prints one line per check.
set -eu

ok() { echo "ok: $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }
mode_owner() { stat -c '%a %U:%G' "$1"; }

export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q /tmp/rota.deb >/tmp/apt-install.log 2>&1 || { cat /tmp/apt-install.log; fail "apt-get install"; }
ok "apt-get install ./rota.deb (with its dependencies)"

getent passwd rota >/dev/null || fail "no rota user"
shell=$(getent passwd rota | cut -d: -f7)
home=$(getent passwd rota | cut -d: -f6)
[ "$(id -u rota)" -lt 1000 ] || fail "rota is not a system user (uid $(id -u rota))"
case "$shell" in */nologin|*/false) ;; *) fail "rota's shell is $shell" ;; esac
ok "system user rota (uid $(id -u rota), home $home, shell $shell)"

[ "$(mode_owner /etc/rota/rota.env)" = "640 root:rota" ] || fail "/etc/rota/rota.env is $(mode_owner /etc/rota/rota.env)"
grep -qx /etc/rota/rota.env /var/lib/dpkg/info/rota.conffiles || fail "rota.env is not a conffile"
ok "/etc/rota/rota.env: 640 root:rota, a conffile"
[ "$(mode_owner /var/lib/rota)" = "700 rota:rota" ] || fail "/var/lib/rota is $(mode_owner /var/lib/rota)"
ok "/var/lib/rota: 700 rota:rota"

for file in /usr/bin/rota /usr/bin/rota-desktop; do
    [ "$(mode_owner "$file")" = "755 root:root" ] || fail "$file is $(mode_owner "$file")"
done
rota --version >/dev/null || fail "rota --version"
ok "$(rota --version) and rota-desktop in /usr/bin, 755 root:root"
for file in /usr/share/bash-completion/completions/rota /usr/share/zsh/vendor-completions/_rota \
    /usr/share/fish/vendor_completions.d/rota.fish; do
    grep -q serve "$file" || fail "$file does not complete rota serve"
done
ok "completions for bash, zsh and fish"
[ -f /lib/systemd/system/rota.service ] && [ -f /usr/lib/systemd/user/rota.service ] || fail "units"
[ ! -e /etc/systemd/system/multi-user.target.wants/rota.service ] || fail "the service is enabled"
ok "system and user units installed; the system service is not enabled"

# Data and a local change to the configuration, as an admin would leave them.
ROTA_DATABASE_URL=$(sed -n "s/^ROTA_DATABASE_URL=//p" /etc/rota/rota.env)
runuser -u rota -- rota --database "$ROTA_DATABASE_URL" migrate >/dev/null
runuser -u rota -- rota --database "$ROTA_DATABASE_URL" tenant add acme >/dev/null
echo "ROTA_SMTP_HOST=smtp.example.com" >>/etc/rota/rota.env
ok "the rota user makes a database in the state directory; rota.env changed by the admin"

dpkg -i /tmp/rota.deb >/tmp/upgrade.log 2>&1 || { cat /tmp/upgrade.log; fail "upgrade"; }
runuser -u rota -- rota --database "$ROTA_DATABASE_URL" tenant list | grep -q acme || fail "upgrade lost the data"
grep -q smtp.example.com /etc/rota/rota.env || fail "upgrade replaced the changed rota.env"
[ "$(mode_owner /etc/rota/rota.env)" = "640 root:rota" ] || fail "after the upgrade rota.env is $(mode_owner /etc/rota/rota.env)"
ok "upgrade (dpkg -i over the installed version): database, changed rota.env, its mode kept"

apt-get remove -y -q rota >/tmp/remove.log 2>&1 || { cat /tmp/remove.log; fail "remove"; }
[ ! -e /usr/bin/rota ] || fail "remove left /usr/bin/rota"
[ -f /var/lib/rota/rota.sqlite ] || fail "remove deleted the database"
grep -q smtp.example.com /etc/rota/rota.env || fail "remove deleted rota.env"
ok "remove: binaries gone; database and rota.env kept"

apt-get install -y -q /tmp/rota.deb >/tmp/reinstall.log 2>&1 || { cat /tmp/reinstall.log; fail "reinstall"; }
runuser -u rota -- rota --database "$ROTA_DATABASE_URL" tenant list | grep -q acme || fail "reinstall lost the data"
ok "install after remove: the kept database is used again"

apt-get purge -y -q rota >/tmp/purge.log 2>&1 || { cat /tmp/purge.log; fail "purge"; }
[ ! -e /var/lib/rota ] || fail "purge left /var/lib/rota"
[ ! -e /etc/rota ] || fail "purge left /etc/rota"
ok "purge: /var/lib/rota and /etc/rota deleted (the rota user stays, as Debian does for system users)"
