#!/bin/sh
# The demo's "training" job: a few epochs of a made-up loss, then a model file under $AIP_MODEL_DIR.
# It runs on the tiny busybox base image, so it is plain POSIX sh.
set -eu
epochs="${EPOCHS:-3}"
echo "hello from Vertex Launch: job ${CLOUD_ML_JOB_ID:-local}, ${epochs} epochs"
loss=1000
i=1
while [ "$i" -le "$epochs" ]; do
  loss=$((loss * 6 / 10))
  echo "epoch $i/$epochs loss=0.$loss"
  i=$((i + 1))
done
echo "model would be saved to ${AIP_MODEL_DIR:-<no AIP_MODEL_DIR>}"
echo "done"
