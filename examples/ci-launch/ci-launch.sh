#!/usr/bin/env bash
# Launch the training job from CI and wait for it: exit 0 when it SUCCEEDED, 1 when it failed, 3 when the
# credentials lack a permission (checked before anything is launched).
#
# Credentials: GOOGLE_APPLICATION_CREDENTIALS names an external_account file (workload identity federation), as
# google-github-actions/auth writes it; Vertex Launch exchanges the CI's OIDC token at Google's STS and impersonates
# the service account named in it. No key, no token in the logs.
#
# Needs: TRAINER_IMAGE (the image to run), STAGING_BUCKET (gs://bucket for outputs), GOOGLE_CLOUD_PROJECT,
# GOOGLE_CLOUD_REGION; GITHUB_SHA and GITHUB_RUN_ID when run by GitHub Actions.
set -euo pipefail
cd "$(dirname "$0")"

: "${TRAINER_IMAGE:?set TRAINER_IMAGE to the image to run}"
: "${STAGING_BUCKET:?set STAGING_BUCKET to a gs:// bucket for the job outputs}"
vertex_launch=${VERTEX_LAUNCH:-vertex-launch}
sha=${GITHUB_SHA:-$(git rev-parse HEAD)}

# Who we are, which project, and whether every launch permission is granted (exit 3 names what is missing).
"$vertex_launch" auth check

"$vertex_launch" queue validate queue.yaml

"$vertex_launch" launch \
  --queue-config queue.yaml \
  --image "$TRAINER_IMAGE" \
  --run-name "gh-${GITHUB_RUN_ID:-local}" \
  --set-var "git_sha=${sha}" \
  --wait
