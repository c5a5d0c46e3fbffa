#!/usr/bin/env bash
# exploration.sh - why the first mask run's SCSI and SI-Oracle fell below
# the demo: the SI-Oracle's setting (clean pairs, no loop, so that only the
# interpolant's settings differ) under gamma 0 / 0.1 / 0.5, with and
# without the denoiser head (and its loss weight), or the combined drift;
# each model scored by its ODE and by the means of 8 SDE samples (10
# Euler steps, or 50 Heun steps) on 200 validation images (training split
# 4000-4199, never trained on).  About 1 hour on one thread.
#
#   results/restoration/exploration.sh [WORKDIR]     # from the source tree
set -euo pipefail
PATH=$PWD/bin:$PATH
w=${1:-build/restoration-exploration}
mkdir -p "$w" && cd "$w"
spec=mask:p=0.5
[ -s clean.tz ] || tzdata fashion-mnist -q -c 4000 | tzcat -q -R x=x0 -d label -o clean.tz
[ -s pairs.tz ] || simulate -q -K 4 --seed 5 "$spec" clean.tz -o pairs.tz
[ -s val.tz ] || tzdata fashion-mnist -q -c 4200 | tzcat -q --tail 200 -R x=clean -d label |
    corrupt -q --seed 9 -f clean -y x1 -k "$spec" -o val.tz
score() { tzdist -q --images --summary -f "$2" --field-b clean "$1" | awk -F'\t' '$1 == "psnr" { printf "%.2f", $2 }'; }
echo "model	estimate	psnr_ode_or_mean1	mean4	mean8	train_s"
for v in "g0:--gamma 0" "g01:--gamma 0.1" "g01d:--gamma 0.1 --denoiser" \
         "g01dw0.01:--gamma 0.1 --denoiser --denoiser-weight 0.01" \
         "g05d:--gamma 0.5 --denoiser" "g01c:--gamma 0.1 --combined"; do
    n=${v%%:*} args=${v#*:}
    t0=$SECONDS
    # shellcheck disable=SC2086
    [ -s "m-$n.tz" ] || si-train -q --threads 1 --steps 2000 --batch 32 --seed 1 --lr 2e-3 --warmup 0 \
        --decay-steps 0 --clip 1 --ema 0.999 --widths 16,32 --mid 1 --temb 64 --cond mask $args \
        pairs.tz -o "m-$n.tz"
    ts=$((SECONDS - t0))
    if [ "$n" != g01c ]; then
        restore -q --threads 1 -m "m-$n.tz" -n 10 val.tz -o "v-$n-ode.tz"
        printf '%s\tode10\t%s\t-\t-\t%s\n' "$n" "$(score "v-$n-ode.tz" x0)" "$ts"
    fi
    case $n in g0 | g01) continue ;; esac
    for cfg in "sde10:-n 10" "sde50h:-n 50 --method heun"; do
        lab=${cfg%%:*} a=${cfg#*:}
        # shellcheck disable=SC2086
        restore -q --threads 1 -m "m-$n.tz" --sde $a -k 8 --means 1,4,8 --seed 4 val.tz -o "v-$n-$lab.tz"
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$lab" "$(score "v-$n-$lab.tz" x0_mean1)" \
            "$(score "v-$n-$lab.tz" x0_mean4)" "$(score "v-$n-$lab.tz" x0_mean8)" "$ts"
    done
done
