#!/usr/bin/env bash
# On the GPU host (issue 16): the official anchors and two bundles of ours on one machine, so the
# figures compare. Needs in .gpu/ (besides bundle.mjs's and pack.sh's output): base/bench.tgz (an
# earlier commit's bench.mjs and cli.mjs from bundle.mjs, run beside this tree's Dawn), ref/mamba_ssm (state-spaces/mamba at e9594ce) and
# anchors/*.py (../shared/anchors). Usage, from the repo root:
#   OUT=DIR bash tools/gpu/compare.sh anchors             the official perf_ref.py / decode_ref.py
#                                                          JSON (kept in /tmp for the ratios below)
#   OUT=DIR bash tools/gpu/compare.sh family              tools/gpu/family_ref.py: the official Mamba-1 /
#                                                          Mamba-2 130M (kept in /tmp likewise)
#   OUT=DIR bash tools/gpu/compare.sh base|new STEP...     the earlier bundle or this tree's, STEPs (baseN:
#                                                          another earlier bundle, .gpu/baseN/bench.tgz):
#     model    model suite, f32 weights (SISO, MIMO r4; 512/2048/8192, 5 prefills each; 256 decode steps)
#     batch    batched graph decode, SISO, batches 1/8/32/128; generate serving 32 prompts at once
#     batch16  the same batches with bfloat16 weights on the device (webgpu-bf16), and with the
#              decode GEMV up to 128 rows (webgpu-gemvmax128-bf16: the GEMV reads the packed
#              weights, the tiled kernel a float32 copy unpacked per op)
#     profile8k  GPU ms per kernel of an 8192-token prefill
#     decode   graph decode at 512 tokens, SISO and MIMO r4, f32 and bf16 weights (256 steps)
#     parts    GPU µs of each part of a decode step replayed in one stream (decode-parts), f32 and bf16
#     parts32  the same parts for a step of 32 sequences, f32
#     dawn     Dawn toggles: batches 1/32 greedy with WebGPU validation off (webgpu-novalidation),
#              and with Dawn's 65.5 µs timestamp steps (webgpu-quantized-ts), beside webgpu
#     splitk   batch-32 parts (in_proj, out_proj) and batches 1/8/32/128 with the K split aimed at 528 (default),
#              264 and 1056 workgroups
#     robust   Dawn's robustness off (webgpu-norobust) beside webgpu: SISO prefill 512/2048/8192 (5 each),
#              graph decode, batches 1/32/128
#     sample   batched decode with temperature sampling on the device (T=1), batches 1/8/32/128, f32 and bf16
#     prefill  prefill of SISO, Mamba-1 and Mamba-2 130M at 512/2048/8192 (5 each; 8 decode steps)
#     prefill1k the same at 1024 tokens
#     noinit   SISO, Mamba-1 and Mamba-2: prefill 512/2048/8192 (5 each) and graph decode (256 steps)
#              with Dawn's zero-initialization of workgroup memory in each shader (webgpu), off
#              (webgpu-noinit) and by the Vulkan driver (webgpu-wginit-ext), twice in opposite orders
#     prefillm2 Mamba-2 130M alone at 512/1024/2048/8192 (5 each)
#     kick     SISO and Mamba-2 prefill at 512/2048 (9 each) with the first early submit after 32
#              dispatches (default), 16 and 8 (webgpu-kick16, webgpu-kick8)
#     profile8kf GPU ms per kernel of an 8192-token prefill of SISO, Mamba-1 and Mamba-2
#     scan8k   GPU ms per kernel of an 8192-token SISO and MIMO r4 prefill on the vec4 scan kernels
#              and on the scalar ones (`scan=legacy`): the issue's "scan kernels 2x" side by side
#     host     the host's cost a dispatch (encode-cost.mjs) and the adapter's features and
#              subgroup-matrix configs with and without allow_unsafe_apis (subgroup-matrix.mjs)
#     profile  GPU ms per kernel of a 512-token prefill and a decode step (webgpu-profile)
#     families the model suite for Mamba-1 and Mamba-2 130M: prefill 512/2048/8192 (3 each), graph decode
#              (256 steps), batches 1/32; then graph decode with bfloat16 weights
#     fprofile GPU ms per kernel of their 512-token prefill and decode step
#     fdecode  their graph decode at 512 tokens (256 steps), batches 1/8/32/128
#     fparts   GPU µs of each part of their decode step replayed in one stream (decode-parts), f32 and bf16
#     lanes    batch-1 graph decode of SISO, Mamba-1 and Mamba-2 with the decode GEMV at 32, 64 and
#              128 lanes an output row (webgpu-lanesN), f32 weights; then SISO with bf16 weights
#     lanesauto the same models' batch-1 graph decode with the default lanes ('auto') beside 32 lanes
#              (the rule before), f32 and bf16 weights
set -uo pipefail
part=${1:?usage: compare.sh anchors | compare.sh base|new model|batch|profile...}
shift
. .gpu/setup.sh
export XDG_RUNTIME_DIR=/tmp
out=${OUT:-/tmp/out}/$part; mkdir -p "$out"
log="$out/run.log"
{ nvidia-smi -L; lscpu | grep 'Model name'; node --version; date -u; } 2>&1 | tee "$log"
q() { grep -v '^Warning' | tr '\r' '\n' | grep -v '^model \|^\(train\)\[' ; }
if [[ $part == anchors ]]; then
  timeout 200 python3 .gpu/anchors/perf_ref.py .gpu/ref > "$out/perf_ref.json" 2> "$out/perf_ref.err"; echo "perf_ref rc $?" | tee -a "$log"
  timeout 240 python3 .gpu/anchors/decode_ref.py .gpu/ref > "$out/decode_ref.json" 2> "$out/decode_ref.err"; echo "decode_ref rc $?" | tee -a "$log"
  cat "$out/perf_ref.json" "$out/decode_ref.json" | tee -a "$log"
  cp "$out/perf_ref.json" "$out/decode_ref.json" /tmp/
  exit 0
fi
if [[ $part == family ]]; then
  timeout 200 python3 tools/gpu/family_ref.py .gpu/ref > "$out/family_ref.json" 2> "$out/family_ref.err"; echo "family_ref rc $?" | tee -a "$log"
  cat "$out/family_ref.json" | tee -a "$log"
  cp "$out/family_ref.json" /tmp/
  exit 0
fi
rm -rf /tmp/m3 && mkdir -p /tmp/m3 && tar xzf .gpu/m3.tgz -C /tmp/m3 || exit 1
[[ $part == base* ]] && { tar xzf ".gpu/$part/bench.tgz" -C /tmp/m3 || exit 1; }
repo=$PWD
cd /tmp/m3 || exit 1
# The anchors' JSON that exists and is not empty (a timed-out script writes nothing).
refs=""; for f in /tmp/perf_ref.json /tmp/decode_ref.json /tmp/family_ref.json; do [[ -s $f ]] && refs="$refs,$f"; done
ref=""; [[ -n $refs ]] && ref="--set reference=${refs#,}"
for stepname in "$@"; do
  echo "== $stepname ($part) $(date -u +%T)" | tee -a "$log"
  case $stepname in
    model) timeout 240 node bench.mjs --suite model --backend webgpu --set lengths=512,2048,8192 --set decodeSteps=256 --set prefillRuns=5 $ref \
             --json "$out/model.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    batch) timeout 150 node bench.mjs --suite model --backend webgpu --set models=SISO --set lengths=512 --set decodeSteps=128 --set batches=1,8,32,128 --set serve=32 $ref \
             --json "$out/batch.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    batch16) timeout 150 node bench.mjs --suite model --backend webgpu-bf16 --backend webgpu-gemvmax128-bf16 --set models=SISO --set lengths=512 --set decodeSteps=128 --set batches=1,8,32,128 $ref \
             --json "$out/batch16.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    decode) timeout 200 node bench.mjs --suite model --backend webgpu --backend webgpu-bf16 --set lengths=512 --set decodeSteps=256 $ref \
             --json "$out/decode.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    parts) timeout 150 node bench.mjs --suite decode-parts --backend webgpu --backend webgpu-bf16 --json "$out/parts.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    parts32) timeout 150 node bench.mjs --suite decode-parts --backend webgpu --set batch=32 --json "$out/parts32.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    dawn) timeout 240 node bench.mjs --suite model --backend webgpu --backend webgpu-quantized-ts --backend webgpu-novalidation --set models=SISO --set lengths=512 --set decodeSteps=256 --set batches=1,32 \
             --json "$out/dawn.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    splitk) timeout 150 node bench.mjs --suite decode-parts --backend webgpu --backend webgpu-splitk264 --backend webgpu-splitk1056 --set models=SISO --set batch=32 --set parts=in_proj,out_proj \
             --json "$out/splitk-parts.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log"
            timeout 200 node bench.mjs --suite model --backend webgpu --backend webgpu-splitk264 --backend webgpu-splitk1056 --set models=SISO --set lengths=64 --set decodeSteps=128 --set batches=1,8,32,128 \
             --json "$out/splitk.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    robust) timeout 240 node bench.mjs --suite model --backend webgpu --backend webgpu-norobust --set models=SISO --set lengths=512,2048,8192 --set prefillRuns=5 --set decodeSteps=128 --set batches=1,32,128 $ref \
             --json "$out/robust.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    sample) timeout 200 node bench.mjs --suite model --backend webgpu --backend webgpu-bf16 --set models=SISO --set lengths=512 --set decodeSteps=128 --set batches=1,8,32,128 --set temperature=1 \
             --json "$out/sample.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    profile8k) timeout 90 node bench.mjs --suite webgpu-profile --set length=8192 --json "$out/profile8k.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    families) timeout 240 node bench.mjs --suite model --backend webgpu --set models=Mamba-1,Mamba-2 --set lengths=512,2048,8192 --set prefillRuns=3 --set decodeSteps=256 --set batches=1,32 $ref \
             --json "$out/families.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log"
             timeout 150 node bench.mjs --suite model --backend webgpu-bf16 --set models=Mamba-1,Mamba-2 --set lengths=512 --set decodeSteps=256 $ref \
             --json "$out/families16.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    fdecode) timeout 200 node bench.mjs --suite model --backend webgpu --set models=Mamba-1,Mamba-2 --set lengths=512 --set decodeSteps=256 --set batches=1,8,32,128 $ref \
             --json "$out/fdecode.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    lanes) timeout 200 node bench.mjs --suite model --backend webgpu-lanes32 --backend webgpu-lanes64 --backend webgpu-lanes128 --set models=SISO,Mamba-1,Mamba-2 --set lengths=512 --set prefillRuns=1 --set decodeSteps=256 $ref \
             --json "$out/lanes.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log"
           timeout 120 node bench.mjs --suite model --backend webgpu-lanes32-bf16 --backend webgpu-lanes64-bf16 --backend webgpu-lanes128-bf16 --set models=SISO --set lengths=512 --set prefillRuns=1 --set decodeSteps=256 $ref \
             --json "$out/lanes16.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    lanesauto) timeout 200 node bench.mjs --suite model --backend webgpu-lanes32 --backend webgpu --set models=SISO,Mamba-1,Mamba-2 --set lengths=512 --set prefillRuns=1 --set decodeSteps=256 $ref \
             --json "$out/lanesauto.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log"
           timeout 200 node bench.mjs --suite model --backend webgpu-lanes32-bf16 --backend webgpu-bf16 --set models=SISO,Mamba-1,Mamba-2 --set lengths=512 --set prefillRuns=1 --set decodeSteps=256 $ref \
             --json "$out/lanesauto16.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    fparts) timeout 200 node bench.mjs --suite decode-parts --backend webgpu --backend webgpu-bf16 --set models=Mamba-1,Mamba-2 --json "$out/fparts.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    fprofile) timeout 120 node bench.mjs --suite webgpu-profile --set models=Mamba-1,Mamba-2 --set length=512 --json "$out/fprofile.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    prefill) timeout 200 node bench.mjs --suite model --backend webgpu --set models=SISO,Mamba-1,Mamba-2 --set lengths=512,2048,8192 --set prefillRuns=5 --set decodeSteps=8 $ref \
             --json "$out/prefill.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    noinit) for order in "webgpu webgpu-noinit webgpu-wginit-ext" "webgpu-wginit-ext webgpu-noinit webgpu"; do
             timeout 280 node bench.mjs --suite model $(printf -- '--backend %s ' $order) --set models=SISO,Mamba-1,Mamba-2 --set lengths=512,2048,8192 --set prefillRuns=5 --set decodeSteps=256 $ref \
               --json "$out/noinit-${order%% *}.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log"
           done ;;
    prefillm2) timeout 150 node bench.mjs --suite model --backend webgpu --set models=Mamba-2 --set lengths=512,1024,2048,8192 --set prefillRuns=5 --set decodeSteps=8 $ref \
             --json "$out/prefillm2.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    prefill1k) timeout 120 node bench.mjs --suite model --backend webgpu --set models=SISO,Mamba-1,Mamba-2 --set lengths=1024 --set prefillRuns=5 --set decodeSteps=8 $ref \
             --json "$out/prefill1k.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    kick) timeout 200 node bench.mjs --suite model --backend webgpu --backend webgpu-kick16 --backend webgpu-kick8 --set models=SISO,Mamba-2 --set lengths=512,2048 --set prefillRuns=9 --set decodeSteps=8 \
             --json "$out/kick.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    profile8kf) timeout 120 node bench.mjs --suite webgpu-profile --set models=SISO,Mamba-1,Mamba-2 --set length=8192 --json "$out/profile8kf.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    scan8k) for v in new legacy; do timeout 120 node bench.mjs --suite webgpu-profile --set length=8192 --set scan=$v --json "$out/scan8k-$v.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log"; done ;;
    host) timeout 150 node encode-cost.mjs 2>&1 | q | tee -a "$log"
          cp "$repo/tools/gpu/subgroup-matrix.mjs" . && timeout 60 node subgroup-matrix.mjs 2>&1 | q | tee -a "$log" ;;
    profile) timeout 90 node bench.mjs --suite webgpu-profile --set length=512 --json "$out/profile.json" --md "$out/bench.md" 2>&1 | q | tee -a "$log" ;;
    *) echo "unknown step $stepname" | tee -a "$log" ;;
  esac
done
echo "== done $(date -u +%T)" | tee -a "$log"
