#!/usr/bin/env bash
# fabric-lab bridge-static: empties /var/lib/fabric-lab/upload, which the file provisioners fill next with
# this VM's files (Vagrant uploads as the SSH user, so the folder is theirs).
set -euo pipefail

readonly UPLOAD=/var/lib/fabric-lab/upload
owner=${SUDO_USER:-vagrant}

rm -rf -- "$UPLOAD"
install -d -m 0755 "${UPLOAD%/*}"
install -d -m 0755 -o "$owner" -g "$(id -gn "$owner")" "$UPLOAD"
