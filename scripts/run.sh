#!/usr/bin/env bash
# The main job: install what is missing, build, boot the bundled kernel under
# QEMU and attach mmdbg to it (arguments are passed to mmdbg).
set -euo pipefail
cd "$(dirname "$0")/.."
# Swift lives in /opt/swift on this kind of machine; make it reachable.
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
scripts/setup.sh
scripts/build-kernel.sh >/dev/null
swift build --product mmdbg >&2
exec .build/debug/mmdbg "$@"
