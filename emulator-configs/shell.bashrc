# Read by the interactive shell of `lab shell LAB DEVICE` (and `lab exec LAB DEVICE` with
# no command): the host's usual bash setup, then a prompt naming the lab and the device.
# The device's hostname (`hostname`, \h) is its own too: it runs in the device's UTS namespace.
[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc
[ -f ~/.bashrc ] && . ~/.bashrc
PS1="(${FABRIC_LAB:-lab}) \u@${FABRIC_LAB_DEVICE:-\h}:\w\\$ "
