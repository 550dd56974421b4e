#!/usr/bin/env bash
# Continue a reference set (results/README.md) across sessions.
#
# A set is made at one commit, from a clean tree, over several sessions, while main moves on.
# So it is made in a git worktree of that commit, and finished runs are copied back into main.
# Two sets are known, each fp32 on AVX2 kernels and driven by its commit's own Makefile:
#   current  the committed set in results/ (results/README.md names its commit). At that
#            commit (df89bee) results/ still held the bf16 set it replaced, so the worktree
#            makes it in results/next_reference/ (RESULTS=results/next_reference), as it was
#            made; collect copies it up into results/
#   next     a set being made to replace it, in results/next_reference/ (its README names its
#            commit), at the same path in the worktree as in main
#
#   scripts/reference_worktree.sh setup DIR [SET]    worktree at the set's commit in DIR, data/
#                                                    linked, the set's committed runs copied in
#                                                    (the sweeps skip or resume them)
#   scripts/reference_worktree.sh collect DIR [SET]  copy DIR's finished runs into the set's
#                                                    folder (no model.pt, checkpoints or locks);
#                                                    for the next set, rewrite its status table
# SET defaults to current. setup refuses a CPU without AVX2 and holds an AVX-512 CPU to AVX2
# kernels (see below).
# It prints the command that continues the set; run it with the venv of this checkout
# (PYTHONPATH=DIR, so that the worktree's code is the one run).
set -euo pipefail
cd "$(dirname "$0")/.."
main=$(pwd)
die() { echo "reference_worktree: $*" >&2; exit 1; }

[ $# -eq 2 ] || [ $# -eq 3 ] || die "usage: scripts/reference_worktree.sh setup|collect DIR [current|next]"
action=$1
dir=$(realpath -m "$2")
set_name=${3:-current}
# dest: the set's folder here; src: where the worktree makes it
case $set_name in
current) dest=results src=results/next_reference ;;
next) dest=results/next_reference src=results/next_reference ;;
*) die "unknown set '$set_name': use current or next" ;;
esac
readme=$dest/README.md
commit=$(grep -oP 'reference commit is `\K[0-9a-f]{7,40}' "$readme") \
    || die "$readme names no reference commit"
# the folders that hold reference runs (the others are labelled ablations)
folders=(seven_task three_task adaptation update_exclusive compression ablation_train_embeddings)
venv=$(realpath -m "${VENV:-$main/.venv}")
python=$venv/bin/python

dispatch=""  # check_cpu sets the variables that hold the kernels to AVX2 where it must
check_cpu() {
    [ "${REFERENCE_ANY_CPU:-0}" = 1 ] && return 0  # the user's explicit choice
    [ -x "$python" ] || die "no $python: make venv first (or set VENV)"
    # fp32 with AVX2 kernels: the report refuses to average runs of two processor kinds
    grep -qw avx2 /proc/cpuinfo || die "this CPU has no AVX2: the set cannot continue here"
    if grep -qw avx512f /proc/cpuinfo; then
        # torch, oneDNN and MKL would pick AVX-512 kernels (other numbers): hold all three to
        # their AVX2 kernels, which reproduced a committed run's first experience to the last
        # digit on an AVX-512 EPYC (results/README.md)
        dispatch="ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 "
    fi
}

case $action in
setup)
    [ -e "$dir" ] && die "$dir exists: collect from it, or remove it with git worktree remove"
    check_cpu
    [ -d data ] || die "no data/ here: build the corpus first (make data)"
    git worktree add --detach "$dir" "$commit" >/dev/null
    ln -s "$main/data" "$dir/data"
    mkdir -p "$dir/$src"
    for f in "${folders[@]}"; do
        [ -d "$dest/$f" ] && cp -r "$dest/$f" "$dir/$src/"
    done
    echo "worktree $dir at $commit:"
    echo "  cd $dir && ${dispatch}PYTHONPATH=$dir make -o $venv/.installed" \
         "VENV=$venv RESULTS=$src results"
    ;;
collect)
    [ -d "$dir/$src" ] || die "$dir holds no $src/: run setup first"
    [ -x "$python" ] || die "no $python: make venv first (or set VENV)"
    # finished: metrics.json says complete, or a compression study's compression.json exists
    # (written last); model.pt alone is no proof (a stopped run writes it, with complete=false)
    finished() {
        [ -f "$1/compression.json" ] || { [ -f "$1/metrics.json" ] && "$python" -c \
            'import json, sys; sys.exit(not json.load(open(sys.argv[1]))["complete"])' \
            "$1/metrics.json"; }
    }
    n=0
    while IFS= read -r result_file; do
        rel=$(dirname "${result_file#"$dir/$src"/}")  # the run's path within the set
        from=$dir/$src/$rel
        run=$dest/$rel
        finished "$from" || continue
        # a run still writing its last files holds its folder's lock
        [ -f "$from/.lock" ] && ! flock -n "$from/.lock" true && continue
        finished "$run" && continue  # here already (an unfinished copy is replaced)
        rm -rf "$run"
        mkdir -p "$run"
        cp -r "$from/." "$run/"
        rm -rf "$run/model.pt" "$run/checkpoint.pt" "$run/checkpoints" "$run/.lock"
        echo "collected $run"
        n=$((n + 1))
    done < <(for f in "${folders[@]}"; do
                 [ -d "$dir/$src/$f" ] && find "$dir/$src/$f" \
                     \( -name metrics.json -o -name compression.json \) \
                     -not -path '*/checkpoints/*' -not -path '*/report/*'
             done | sort)
    echo "$n new run(s) collected into $dest"
    if [ "$set_name" = current ]; then
        echo "next: make report, then the reference tests"
    else  # the set's status table: one row per finished run, from their metrics.json
        "$python" -m benchmark.reporting.readme --readme "$readme" --results "$dest"
        echo "rewrote the status table of $readme"
    fi
    ;;
*)
    die "unknown action '$action': use setup or collect"
    ;;
esac
