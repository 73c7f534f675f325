#!/usr/bin/env bash
# Session 12, call 1: scan-kernel probes (base4 noload, base5 noform) beside base6 (HEAD b883268)
# and new (exactK matmul), per-kernel profiles at 8192; the products alone, old vs new code; KT_CHAIN.
OUT0=$OUT
R=/tmp/res; mkdir -p $R
export OUT=$R
{ nvidia-smi -L; date -u; } > $R/gpu.txt 2>&1
for b in base6 base4 base5 new; do
  bash tools/gpu/compare.sh $b profile8kf > /dev/null 2>&1
  mv $R/$b $R/$b-p1
done
bash tools/gpu/compare.sh base6 prefill > /dev/null 2>&1
bash tools/gpu/compare.sh new prefill > /dev/null 2>&1
. .gpu/setup.sh; export XDG_RUNTIME_DIR=/tmp
cp tools/gpu/{kernel-time,pass-time}.mjs .gpu/decode-variants.json /tmp/m3/
( cd /tmp/m3 && timeout 150 node kernel-time.mjs decode-variants.json > $R/kt.txt 2>&1;
  KT_CHAIN=1 timeout 100 node kernel-time.mjs decode-variants.json 'M2048' > $R/kt-chain.txt 2>&1 )
for b in base6 new; do bash tools/gpu/compare.sh $b profile8kf > /dev/null 2>&1; mv $R/$b $R/$b-p2 2>/dev/null; done
date -u >> $R/gpu.txt
cd /tmp && tar czf $OUT0/res.tgz res
