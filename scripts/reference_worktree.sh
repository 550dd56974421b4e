#!/usr/bin/env bash
# Continue the committed reference set (results/README.md) across sessions.
#
# The set is made at one commit, from a clean tree, over several sessions, while main moves on.
# So it is made in a git worktree of that commit, driven by a pinned Makefile kept outside the
# worktree (a file inside would dirty its tree), and finished runs are copied back into main.
#
#   scripts/reference_worktree.sh setup DIR    worktree at the reference commit in DIR, data/
#                                              linked, the committed runs copied in (the sweeps
#                                              skip them), the pinned Makefile beside DIR
#   scripts/reference_worktree.sh collect DIR  copy DIR's finished runs into results/ (no
#                                              model.pt, checkpoints or locks); then `make report`
#
# setup refuses a CPU without native bf16 (see below).
# Then, in DIR:  make -f ../Makefile.reference -o <venv>/.installed VENV=<venv> results
# with the venv of this checkout (PYTHONPATH=DIR so that the worktree's code is the one run).
# Both commits are read from results/README.md, so the procedure there and this script agree.
set -euo pipefail
cd "$(dirname "$0")/.."
main=$(pwd)
die() { echo "reference_worktree: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: scripts/reference_worktree.sh setup|collect DIR"
action=$1
dir=$(realpath -m "$2")
readme=results/README.md
commit=$(grep -oP 'reference commit is `\K[0-9a-f]{7,40}' "$readme") \
    || die "$readme names no reference commit"
makefile_rev=$(grep -oP 'git show \K[0-9a-f]{7,40}(?=:Makefile)' "$readme" | head -1) \
    || die "$readme names no pinned Makefile (git show <rev>:Makefile)"
# the folders of results/ that hold reference runs (the others are labelled stale ablations)
folders=(seven_task three_task adaptation update_exclusive compression)

case $action in
setup)
    [ -e "$dir" ] && die "$dir exists: collect from it, or remove it with git worktree remove"
    # The set trains under bf16 autocast on a CPU with native bf16 (avx512_bf16). Elsewhere the
    # reference commit, which predates the fp32 fallback, would emulate bf16 (a train step ~4x
    # slower), and other kernels give other numbers. REFERENCE_ANY_CPU=1 overrides.
    python=${VENV:-$main/.venv}/bin/python
    [ -x "$python" ] || die "no $python: make venv first (or set VENV)"
    if [ "${REFERENCE_ANY_CPU:-0}" != 1 ] && ! "$python" -c "import sys
from benchmark.environment import cpu_has_fast_bf16; sys.exit(not cpu_has_fast_bf16())"; then
        die "this CPU has no native bf16 (no AVX-512): the reference set cannot continue here"
    fi
    [ -d data ] || die "no data/ here: build the corpus first (make data)"
    git worktree add --detach "$dir" "$commit" >/dev/null
    ln -s "$main/data" "$dir/data"
    for f in "${folders[@]}"; do
        [ -d "results/$f" ] && cp -r "results/$f" "$dir/results/"
    done
    git show "$makefile_rev:Makefile" > "$(dirname "$dir")/Makefile.reference"
    echo "worktree $dir at $commit, Makefile pinned at $makefile_rev:"
    echo "  cd $dir && PYTHONPATH=$dir make -f ../Makefile.reference" \
         "-o $main/.venv/.installed VENV=$main/.venv results"
    ;;
collect)
    [ -d "$dir/results" ] || die "$dir holds no results/: run setup first"
    n=0
    # a finished run has a model.pt (a finished compression study, its compression.json)
    while IFS= read -r done_file; do
        run=$(dirname "${done_file#"$dir"/}")
        if [ ! -f "$run/metrics.json" ] && [ ! -f "$run/compression.json" ]; then
            mkdir -p "$run"
            rsync -a --exclude model.pt --exclude checkpoints --exclude .lock \
                "$dir/$run/" "$run/"
            echo "collected $run"
            n=$((n + 1))
        fi
    done < <(for f in "${folders[@]}"; do
                 [ -d "$dir/results/$f" ] && find "$dir/results/$f" \
                     \( -name model.pt -o -name compression.json \) -not -path '*/checkpoints/*'
             done | sort)
    echo "$n new run(s) collected; next: make report, then the reference tests"
    ;;
*)
    die "unknown action '$action': use setup or collect"
    ;;
esac
