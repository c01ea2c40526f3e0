#!/bin/bash -e
# Host side: copy the staged overlay (image-build/stage.sh output: units, rules, PAM file, /etc/roomagent
# skeleton, the project's wheel) into the image. Files are copied, nothing is edited in place.
cp -a "${ROOMAGENT_STAGE:?}/overlay/." "${ROOTFS_DIR:?}/"
