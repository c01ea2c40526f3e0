#!/bin/bash -e
# Inside the image (pi-gen's chroot, network available): install the agent, select the GPU settings,
# create the kiosk user and enable the units.
sh /usr/share/roomagent/dist/install-agent.sh
# Raspberry Pi 4/5: vc4 display controller and v3d GPU (kiosk/gpu/rpi-v3d.env).
ln -sfn /usr/share/roomagent/gpu/rpi-v3d.env /etc/roomagent/gpu.env
systemd-sysusers
systemd-tmpfiles --create /usr/lib/tmpfiles.d/roomagent.conf
systemctl preset roomagent.service roomagent-firstboot.service
systemctl set-default graphical.target
