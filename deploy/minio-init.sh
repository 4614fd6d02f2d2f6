#!/bin/sh
# Run by the one-shot `minio-init` service (minio/mc image) of docker-compose.yml, on every `up`
# with the minio profile: makes sure the bucket exists and that vcu has its own MinIO user, allowed
# to use that bucket only, so vcu never holds MinIO's root account. Every step is idempotent.
#   env: MINIO_ROOT_USER, MINIO_ROOT_PASSWORD  MinIO's root account (used here only)
#        VCU_BUCKET                            the bucket (S3_BUCKET)
#        VCU_ACCESS_KEY, VCU_SECRET_KEY        vcu's user (S3_ACCESS_KEY, S3_SECRET_KEY)
set -eu

fail() {
  echo "minio-init: $*" >&2
  exit 1
}

[ -n "${VCU_ACCESS_KEY:-}" ] && [ -n "${VCU_SECRET_KEY:-}" ] ||
  fail "S3_ACCESS_KEY and S3_SECRET_KEY must be set in .env: with the minio profile they are vcu's own MinIO user, created here (README.md, \"Deploy it with Docker Compose\")"
[ "$VCU_ACCESS_KEY" != "$MINIO_ROOT_USER" ] ||
  fail "S3_ACCESS_KEY must differ from MINIO_ROOT_USER: vcu gets its own MinIO user, not the root account"
[ "${#VCU_SECRET_KEY}" -ge 8 ] || fail "S3_SECRET_KEY must be at least 8 characters long (MinIO's minimum)"

mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing "local/$VCU_BUCKET"

# What vcu does, and no more: HEAD the bucket, read, write and join objects. No delete.
# a file of its own: a fixed name in /tmp could be another user's, or a link planted there
policy=$(mktemp 2>/dev/null) || policy="/tmp/vcu-bucket-policy.$$.json"
trap 'rm -f "$policy"' EXIT
cat >"$policy" <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
      "Resource": ["arn:aws:s3:::$VCU_BUCKET"]
    },
    {
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      "Resource": ["arn:aws:s3:::$VCU_BUCKET/*"]
    }
  ]
}
EOF
mc admin policy create local vcu-bucket "$policy" >/dev/null
# sets the secret again when the user exists, so .env stays the one place it is kept
mc admin user add local "$VCU_ACCESS_KEY" "$VCU_SECRET_KEY" >/dev/null
# a second attach answers "The specified policy change is already in effect": that is success
if ! out=$(mc admin policy attach local vcu-bucket --user "$VCU_ACCESS_KEY" 2>&1); then
  case $out in
    *"already in effect"*) ;;
    *) fail "attaching the bucket policy to $VCU_ACCESS_KEY failed: $out" ;;
  esac
fi
echo "minio-init: bucket $VCU_BUCKET ready; user $VCU_ACCESS_KEY may use it and nothing else"
