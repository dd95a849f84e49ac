#!/usr/bin/env bash
# A short, deterministic fuzzing run (seed 1) of every input parser: the nine ingest
# formats, IAM policy documents and IAM patterns (test/fuzz/run.sh, about 20 s).  Fails on
# any error of SQLSTATE class XX or a crashed backend.  The long run is
# `test/fuzz/run.sh --minutes N`.
set -euo pipefail
cd "$(dirname "$0")/../.."
ITERATIONS=${FUZZ_ITERATIONS:-150} test/fuzz/run.sh --seed 1
