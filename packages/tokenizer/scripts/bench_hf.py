"""Times Hugging Face `tokenizers` (Rust, through Python) on the rows of the `tokenizer` bench
suite, for a comparison on the same machine. One thread (RAYON_NUM_THREADS=1).

    python -m pip install tokenizers==0.23.2
    RAYON_NUM_THREADS=1 python scripts/bench_hf.py TEXT_FILE [TOKENIZER_JSON(.gz)] [REPEATS]

`encode` builds the full Encoding (ids, tokens, offsets): compare with our encodeDetailed.
`encode_batch_fast([text])` skips offsets: compare with our encode. Cold = a fresh Tokenizer
(empty BPE cache) per run.
"""
import gzip
import os
import sys
import time

os.environ.setdefault('RAYON_NUM_THREADS', '1')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')

import tokenizers  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402
from tokenizers.decoders import DecodeStream  # noqa: E402


def load(path):
    data = open(path, 'rb').read()
    return gzip.decompress(data).decode('utf8') if data[:2] == b'\x1f\x8b' else data.decode('utf8')


def median_min(repeats, setup, fn):
    runs = []
    for _ in range(repeats):
        s = setup()
        t0 = time.perf_counter()
        fn(s)
        runs.append((time.perf_counter() - t0) * 1000)
    runs.sort()
    return runs[len(runs) // 2], runs[0]


def main():
    text_path = sys.argv[1]
    tok_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), '..', 'fixtures', 'gpt-neox-20b-tokenizer.json.gz')
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    text = open(text_path, encoding='utf8').read()
    size = len(text.encode('utf8'))
    js = load(tok_path)
    tok = Tokenizer.from_str(js)
    ids = tok.encode(text).ids
    n = len(ids)
    print(f'tokenizers {tokenizers.__version__}, text {text_path}: {size} bytes, {n} tokens, {repeats} runs, RAYON_NUM_THREADS={os.environ["RAYON_NUM_THREADS"]}')

    def row(what, ms, tokens=n):
        med, mn = ms
        print(f'{what:<52} {med:9.1f} ms (min {mn:8.1f})  {size / 1e6 / (med / 1000):7.2f} MB/s  {tokens / (med / 1000):10.0f} tokens/s')

    row('HF load tokenizer.json (from_str)', median_min(repeats, lambda: None, lambda _: Tokenizer.from_str(js)))
    row('HF encode_batch_fast([text]), cold (no offsets)', median_min(repeats, lambda: Tokenizer.from_str(js), lambda t: t.encode_batch_fast([text])))
    row('HF encode_batch_fast([text]), warm (no offsets)', median_min(repeats, lambda: tok, lambda t: t.encode_batch_fast([text])))
    lines = text.split('\n')
    line_tokens = sum(len(e.ids) for e in tok.encode_batch_fast(lines))
    row(f'HF encode_batch_fast({len(lines)} lines), cold', median_min(repeats, lambda: Tokenizer.from_str(js), lambda t: t.encode_batch_fast(lines)), line_tokens)
    row('HF encode(text), cold (ids + tokens + offsets)', median_min(repeats, lambda: Tokenizer.from_str(js), lambda t: t.encode(text)))
    row('HF encode(text), warm (ids + tokens + offsets)', median_min(repeats, lambda: tok, lambda t: t.encode(text)))
    row('HF decode(ids)', median_min(repeats, lambda: tok, lambda t: t.decode(ids, skip_special_tokens=False)))

    def stream(t):
        ds = DecodeStream(skip_special_tokens=False)
        for i in ids:
            ds.step(t, i)

    row('HF DecodeStream.step per id', median_min(repeats, lambda: tok, stream))


if __name__ == '__main__':
    main()
