"""cuBLAS's float32 products (no TF32: PyTorch's default) at our prefill products' shapes on this GPU,
the ceiling beside which our tiled WGSL product is read (issue 16, goal 2). Prints JSON:
TFLOP/s of F.linear(x, W) for x [M, K], W [N, K], median of 20 after 5 warm-up runs.
Usage on the GPU host: python3 tools/gpu/sgemm_ref.py"""
import json, torch
torch.backends.cuda.matmul.allow_tf32 = False
res = {'device': torch.cuda.get_device_name(0), 'allow_tf32': torch.backends.cuda.matmul.allow_tf32}
shapes = {'m3 in_proj': (3432, 768), 'out_proj': (768, 1536), 'm1 in_proj': (3072, 768), 'm2 in_proj': (3352, 768)}
for name, (N, K) in shapes.items():
    for M in (512, 2048, 8192):
        x = torch.randn(M, K, device='cuda'); w = torch.randn(N, K, device='cuda')
        for _ in range(5): torch.nn.functional.linear(x, w)
        ts = []
        for _ in range(20):
            s = torch.cuda.Event(enable_timing=True); e = torch.cuda.Event(enable_timing=True)
            s.record(); torch.nn.functional.linear(x, w); e.record(); torch.cuda.synchronize()
            ts.append(s.elapsed_time(e))
        ms = sorted(ts)[10]
        res[f'{name} M{M}'] = {'us': round(ms * 1000, 1), 'tflops': round(2 * M * N * K / ms / 1e9, 1)}
print(json.dumps(res, indent=1))
