#!/usr/bin/env bash
# The granularity threshold on a Slurm cluster (or the local one-node Slurm,
# slurm/local-cluster.sh): the strongest adversary (jobs/granularity-threshold.ini:
# surrogate templates) on vgg-mini and vgg-mini-seedpool, trained by
# jobs/quickstart.ini, at block sizes 8, 16, 32, 64 and 128 (N from 100,352 to 392)
# with 10%, 50% and all of the blocks held; one array task per block size, then the
# analysis job: runs/threshold/threshold-<array>.h5 (every run merged), .png and .md
# (analysis/plot_threshold.py: recovery, the assembled model's accuracy and fidelity
# against N, with the measured and the seed formula's thresholds), .txt (tessera
# threshold's report). The options are jobs/granularity-study.sh's:
#
#   jobs/granularity-threshold.sh [--sizes "8 16"] [--rates "0.9"] [--archs vgg-mini] [--out DIR] [--wait]
#                                 [-- tessera options, e.g. --surrogate.count=1]
exec "$(dirname "$0")/granularity-study.sh" --command threshold "$@"
