#!/bin/sh
# Start a fleet host: install the lab's public key for the non-root user, fresh host keys, then sshd.
set -eu
user="${FLEET_USER:-ops}"
install -o "$user" -g "$user" -m 0600 /fleet/authorized_keys "/home/$user/.ssh/authorized_keys"
ssh-keygen -A >/dev/null
exec /usr/sbin/sshd -D -e
