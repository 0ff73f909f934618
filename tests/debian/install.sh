#!/bin/sh
# Install Debian 12's mailman3 package and the plugin into Debian's Python.
#
# Exactly the steps docs/install.md gives ("Debian 12 mailman3 package"):
# every library comes from Debian's packages; the plugin's wheel is built
# here and installed with --no-deps into /usr/local, so no file of a Debian
# package is replaced (tests/debian/test_install.py checks that).  No
# service is started: a policy-rc.d that refuses is in place for the
# apt-get run (one that already exists is kept as it is).
#
#   sh tests/debian/install.sh [SOURCE_DIR]    (as root; SOURCE_DIR: .)
set -eu

SOURCE=$(cd "${1:-.}" && pwd)

# The Debian packages: Mailman core and the libraries the plugin imports
# that mailman3 does not pull in itself (python3-dkim, python3-spf,
# python3-cryptography), pip to install the wheel, and Debian's Postorius
# (1.3.8) for the list owners' page (tests/debian/test_postorius.py).
PACKAGES='mailman3 python3-dkim python3-spf python3-dnspython
python3-authres python3-cryptography python3-sqlalchemy
python3-flufl.bounce python3-zope.interface python3-public python3-pip
python3-django-postorius'

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo 'tests/debian/install.sh: needs root and apt-get' >&2
    exit 2
fi

WORK=$(mktemp -d)
POLICY=/usr/sbin/policy-rc.d
POLICY_MADE=
trap 'rm -rf "$WORK"; if [ -n "$POLICY_MADE" ]; then rm -f "$POLICY"; fi' EXIT
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY"
    chmod 755 "$POLICY"
    POLICY_MADE=yes
fi

# mailman3's postinst asks (through dbconfig-common) whether to set up its
# database: answer yes, SQLite, in /var/lib/mailman3/data (its defaults).
printf '%s\n' 'mailman3 mailman3/dbconfig-install boolean true' \
    'mailman3 mailman3/database-type select sqlite3' | debconf-set-selections

MISSING=
for package in $PACKAGES; do
    if ! dpkg-query -W -f '${Status}\n' "$package" 2>/dev/null \
            | grep -q ' installed$'; then
        MISSING="$MISSING $package"
    fi
done
if [ -n "$MISSING" ]; then
    echo "tests/debian/install.sh: installing from Debian:$MISSING"
    apt-get update -q
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends $PACKAGES
fi

# Debian's Python by its path: a python3 found first on PATH (pyenv, a
# virtualenv) is another one.
# The wheel, built from a clean copy of the source (a build/ directory left
# in the tree would put stale modules into it).
mkdir "$WORK/src"
tar -C "$SOURCE" --exclude=__pycache__ -cf - setup.cfg pyproject.toml \
    README.md mailman_antibackscatter | tar -C "$WORK/src" -xf -
/usr/bin/python3 -m pip wheel -q --no-deps -w "$WORK/dist" "$WORK/src"
# The Postorius page is a distribution of its own; its requirements
# (Postorius 1.3.13 and up) are not Debian's, --no-deps keeps Debian's 1.3.8.
/usr/bin/python3 "$SOURCE/distributions/build.py" --stage "$WORK/web-src" web
/usr/bin/python3 -m pip wheel -q --no-deps -w "$WORK/dist" "$WORK/web-src"
# --no-deps: every dependency is a Debian package; pip installs into
# /usr/local/lib/python3*/dist-packages, never over Debian's files.
# The core first, then the page: reinstalling a core whose old files
# included web/ (before the page had a wheel of its own) would remove them.
for wheel in "$WORK"/dist/mailman_antibackscatter-*.whl \
             "$WORK"/dist/mailman_antibackscatter_web-*.whl; do
    /usr/bin/python3 -m pip install -q --no-deps --break-system-packages \
        --root-user-action=ignore --force-reinstall "$wheel"
done
