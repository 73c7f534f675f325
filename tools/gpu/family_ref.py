"""Official mamba_ssm Mamba-1 and Mamba-2 130M LMs (d_model 768, 24 layers, vocab 50277, random
weights, the released checkpoints' config) timed on this GPU, for our model suite's family rows.
Usage: python3 family_ref.py REF_DIR (REF_DIR holds state-spaces/mamba's mamba_ssm/ at e9594ce).

- decode: the model's own step path (Mamba.step / Mamba2.step through MambaLMHeadModel with
  inference params, as the official generate runs it) captured as one CUDA graph, replayed with
  the argmax fed back: ms per token. Triton's selective_state_update serves both; the
  causal_conv1d extension is absent here, so the conv step is the module's PyTorch fallback.
- prefill (Mamba-2 only): one forward at 512 / 2048 / 8192 tokens with the Triton SSD kernels
  (use_mem_eff_path=False: the fused path needs causal_conv1d). Mamba-1's forward needs the
  selective_scan_cuda extension; here its prompt runs the official selective_scan_ref, too slow
  to be a prefill figure, so none is given.
"""
import sys, os, types, time, json, torch
REF = sys.argv[1]
pkg = types.ModuleType('mamba_ssm'); pkg.__path__ = [os.path.join(REF, 'mamba_ssm')]; sys.modules['mamba_ssm'] = pkg
sys.modules.setdefault('selective_scan_cuda', types.ModuleType('selective_scan_cuda'))
from mamba_ssm.models.mixer_seq_simple import MambaLMHeadModel
from mamba_ssm.models.config_mamba import MambaConfig
import mamba_ssm.modules.mamba_simple as m1
from mamba_ssm.ops.selective_scan_interface import selective_scan_ref
m1.selective_scan_fn = selective_scan_ref
torch.backends.cuda.matmul.allow_tf32 = False


class Params:
    """What the mixers read of mamba_ssm.utils.generation.InferenceParams (that module imports transformers)."""
    def __init__(self, lm, batch, maxlen, dtype):
        self.max_seqlen, self.max_batch_size, self.seqlen_offset, self.batch_size_offset = maxlen, batch, 0, 0
        self.lengths_per_sample = None
        self.key_value_memory_dict = lm.allocate_inference_cache(batch, maxlen, dtype=dtype)


def decode_ms(lm, dtype, prompt=16, runs=200):
    ip = Params(lm, 1, 4096, dtype)
    with torch.no_grad():
        lm(torch.randint(0, 50277, (1, prompt), device='cuda'), inference_params=ip)
        ip.seqlen_offset = prompt
        tok = torch.randint(0, 50277, (1, 1), device='cuda')
        s_ = torch.cuda.Stream(); s_.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s_):
            for _ in range(3): lm(tok, inference_params=ip, num_last_tokens=1)
        torch.cuda.current_stream().wait_stream(s_)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            logits = lm(tok, inference_params=ip, num_last_tokens=1).logits
            nxt = logits[:, -1].argmax(-1, keepdim=True)
        for _ in range(3): g.replay(); tok.copy_(nxt)
        torch.cuda.synchronize(); t0 = time.perf_counter()
        for _ in range(runs): g.replay(); tok.copy_(nxt)
        torch.cuda.synchronize()
        return (time.perf_counter() - t0) / runs * 1e3


def prefill_ms(lm, L):
    ids = torch.randint(0, 50277, (1, L), device='cuda')
    with torch.no_grad():
        for _ in range(2): lm(ids, num_last_tokens=1)
        torch.cuda.synchronize(); s = torch.cuda.Event(enable_timing=True); e = torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(5): lm(ids, num_last_tokens=1)
        e.record(); torch.cuda.synchronize()
        return s.elapsed_time(e) / 5


res = {'gpu': torch.cuda.get_device_name(0)}
for layer, ssm_cfg in (('Mamba1', dict(layer='Mamba1')), ('Mamba2', dict(layer='Mamba2', use_mem_eff_path=False))):
    for dtype in (torch.float32, torch.bfloat16):
        name = f'{layer}_{str(dtype)[6:]}'
        torch.manual_seed(0)
        try:
            lm = MambaLMHeadModel(MambaConfig(d_model=768, n_layer=24, vocab_size=50277, ssm_cfg=ssm_cfg), device='cuda', dtype=dtype).eval()
            res[f'{name}_params'] = sum(p.numel() for p in lm.parameters())
            ms = decode_ms(lm, dtype)
            res[f'{name}_cudagraph_ms_per_token'] = round(ms, 4); res[f'{name}_cudagraph_tok_s'] = round(1000 / ms)
            if layer == 'Mamba2':
                for L in (512, 2048, 8192):
                    ms = prefill_ms(lm, L)
                    res[f'{name}_prefill_L{L}_ms'] = round(ms, 3); res[f'{name}_prefill_L{L}_tok_s'] = round(L / ms * 1000)
        except Exception as ex:
            res[f'{name}_error'] = repr(ex)[:300]
        lm = None; torch.cuda.empty_cache()
        print(json.dumps(res), file=sys.stderr, flush=True)
print(json.dumps(res, indent=1))
