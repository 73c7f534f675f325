"""Writes fixtures/hf_cases.json.gz: what Hugging Face `tokenizers` does with small tokenizer.json
configs (every component this package implements) and with random Unicode through GPT-NeoX.

    python -m pip install tokenizers==0.23.2
    python scripts/hf_fixtures.py        # from packages/tokenizer

Offsets are converted from Python's character offsets to UTF-16 units (JavaScript indices).
The tests replay the file; they never need Python.
"""
import gzip
import json
import random
from pathlib import Path

import tokenizers
from tokenizers import Tokenizer
from tokenizers.decoders import DecodeStream

HERE = Path(__file__).resolve().parent.parent
LETTERS = list('abcdefghijklmnopqrstuvwxyz')


def u16(text, offsets):
    pre = [0]
    for ch in text:
        pre.append(pre[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return [[pre[s], pre[e]] for s, e in offsets]


def added(i, content, special=False, **flags):
    return {'id': i, 'content': content, 'special': special, 'lstrip': False, 'rstrip': False,
            'single_word': False, 'normalized': not special, **flags}


def bpe(vocab, merges, model=None, **parts):
    base = {'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': [], 'normalizer': None,
            'pre_tokenizer': None, 'post_processor': None, 'decoder': None}
    base.update(parts)
    base['model'] = {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None,
                     'end_of_word_suffix': None, 'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False,
                     'vocab': {t: i for i, t in enumerate(vocab)}, 'merges': merges, **(model or {})}
    return base


def byte_tokens():
    return ['<0x%02X>' % b for b in range(256)]


SP_VOCAB = ['<unk>', '<s>', '</s>'] + byte_tokens() + ['\u2581', 'a', 'b', '\u2581a', 'c', '\u2581b', 'ab']
SENTENCEPIECE = bpe(
    SP_VOCAB, ['\u2581 a', '\u2581 b', 'a b'],
    {'unk_token': '<unk>', 'fuse_unk': True, 'byte_fallback': True},
    added_tokens=[added(0, '<unk>', True), added(1, '<s>', True), added(2, '</s>', True)],
    normalizer={'type': 'Sequence', 'normalizers': [
        {'type': 'Prepend', 'prepend': '\u2581'},
        {'type': 'Replace', 'pattern': {'String': ' '}, 'content': '\u2581'}]},
    post_processor={'type': 'TemplateProcessing',
                    'single': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],
                    'pair': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}},
                             {'Sequence': {'id': 'B', 'type_id': 1}}],
                    'special_tokens': {'<s>': {'id': '<s>', 'ids': [1], 'tokens': ['<s>']}}},
    decoder={'type': 'Sequence', 'decoders': [
        {'type': 'Replace', 'pattern': {'String': '\u2581'}, 'content': ' '},
        {'type': 'ByteFallback'}, {'type': 'Fuse'}, {'type': 'Strip', 'content': ' ', 'start': 1, 'stop': 0}]},
)

BYTES = [chr(c) for c in range(0x21, 0x7F)] + [chr(c) for c in range(0xA1, 0xAD)] + [chr(c) for c in range(0xAE, 0x100)] + [chr(0x100 + n) for n in range(68)]
LLAMA3_RE = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
LLAMA3 = bpe(
    BYTES + ['<|begin_of_text|>', 'Ġh', 'Ġhe', 'll', 'Ġhell', 'Ġhello', 'IS'], ['Ġ h', 'Ġh e', 'l l', 'Ġhe ll', 'Ġhell o', 'I S'],
    {'ignore_merges': True},
    added_tokens=[added(len(BYTES), '<|begin_of_text|>', True)],
    pre_tokenizer={'type': 'Sequence', 'pretokenizers': [
        {'type': 'Split', 'pattern': {'Regex': LLAMA3_RE}, 'behavior': 'Isolated', 'invert': False},
        {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': False}]},
    post_processor={'type': 'Sequence', 'processors': [
        {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': False, 'use_regex': True},
        {'type': 'TemplateProcessing',
         'single': [{'SpecialToken': {'id': '<|begin_of_text|>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],
         'pair': [], 'special_tokens': {'<|begin_of_text|>': {'id': '<|begin_of_text|>', 'ids': [len(BYTES)], 'tokens': ['<|begin_of_text|>']}}}]},
    decoder={'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
)

CHARS = LETTERS + [' ', '<', '>', '[', ']', '!']
TOKENIZERS = {
    'ranks': (bpe(['a', 'b', 'ab', 'aa', 'aaa'], ['a a', 'a b', 'aa a']), ['aab', 'aaaa', 'aaa', 'abab', 'baaab']),
    'merges-as-pairs': (bpe(['a', 'b', 'ab', 'aa', 'aaa'], [['a', 'a'], ['a', 'b'], ['aa', 'a']]), ['aab', 'aaaa', 'baaab']),
    'ignore-merges-off': (bpe(['h', 'e', 'l', 'o', 'he', 'll', 'hello'], ['h e', 'l l'], pre_tokenizer={'type': 'WhitespaceSplit'}), ['hello', 'hell', 'hello hell']),
    'ignore-merges-on': (bpe(['h', 'e', 'l', 'o', 'he', 'll', 'hello'], ['h e', 'l l'], {'ignore_merges': True}, pre_tokenizer={'type': 'WhitespaceSplit'}), ['hello', 'hell', 'hello hell']),
    'unk-fused': (bpe(['<unk>', 'a', 'b'], [], {'unk_token': '<unk>', 'fuse_unk': True}), ['axyb', 'xx', 'a\U0001F40Db']),
    'unk-unfused': (bpe(['<unk>', 'a', 'b'], [], {'unk_token': '<unk>', 'fuse_unk': False}), ['axyb', 'xx']),
    'unk-none': (bpe(['<unk>', 'a', 'b'], []), ['axyb', 'xx']),
    'subword-prefix': (bpe(['a', '##b', '##c', 'ab', 'abc'], ['a ##b', 'ab ##c'], {'continuing_subword_prefix': '##'}), ['abc', 'ac', 'abcab']),
    'word-suffix': (bpe(['a', 'b</w>', 'ab</w>', 'b', 'a</w>'], ['a b</w>'], {'end_of_word_suffix': '</w>'},
                        pre_tokenizer={'type': 'WhitespaceSplit'}, decoder={'type': 'BPEDecoder', 'suffix': '</w>'}), ['ab ab', 'ab a', 'ba']),
    'sentencepiece': (SENTENCEPIECE, ['a b', 'ab ab', 'a\u00e9', '\U0001F40D', ' a  b ', 'b\u00e9\u00e9c', 'x', '<s>a</s>', 'a<unk>b']),
    'llama3-style': (LLAMA3, ["I'M hello IS hello", 'hello\n\n  world 12345', 'caf\u00e9 \U0001F40D!', '<|begin_of_text|>hello']),
    'added-tokens': (bpe(CHARS, [], normalizer={'type': 'Lowercase'}, added_tokens=[
        added(100, '<mask>', True, lstrip=True), added(101, '[x]', True, rstrip=True),
        added(102, 'cat', single_word=True), added(103, 'Hey', normalized=False)]),
        ['a  <mask>b', '[x]  b', 'b [x]', 'cat dog', 'concat', 'cats', 'CAT', 'Hey hey', 'HEY', '<mask><mask>', ' [x] [x] ', 'a\u3000<mask>']),
    'added-longest': (bpe(['a', 'b'], [], added_tokens=[added(2, 'ab'), added(3, 'aba'), added(4, 'ba')]), ['abab', 'bab', 'aaba']),
    'template-bos-eos': (bpe(['<s>', '</s>'] + LETTERS, [], added_tokens=[added(0, '<s>', True), added(1, '</s>', True)], post_processor={
        'type': 'TemplateProcessing',
        'single': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}, {'SpecialToken': {'id': '</s>', 'type_id': 0}}],
        'pair': [], 'special_tokens': {'<s>': {'id': '<s>', 'ids': [0], 'tokens': ['<s>']}, '</s>': {'id': '</s>', 'ids': [1], 'tokens': ['</s>']}}}),
        ['ab', '', 'a</s>b']),
    'roberta': (bpe(['<s>', '</s>'] + LETTERS + ['Ġ', 'Ġa'], ['Ġ a'], added_tokens=[added(0, '<s>', True), added(1, '</s>', True)],
                    pre_tokenizer={'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
                    post_processor={'type': 'RobertaProcessing', 'sep': ['</s>', 1], 'cls': ['<s>', 0], 'trim_offsets': True, 'add_prefix_space': True},
                    decoder={'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True}),
               ['a b', ' a  b', 'ab']),
    'bytelevel-normalizer': (bpe(BYTES + ['  '], [], added_tokens=[added(len(BYTES), '  ')], normalizer={'type': 'ByteLevel'},
                                 decoder={'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True}),
                             ['a  b', 'caf\u00e9  ', '   ']),
    'nfkc-lowercase-bytelevel': (bpe(BYTES + ['CAT'], [], added_tokens=[added(len(BYTES), 'CAT')],
                                     normalizer={'type': 'Sequence', 'normalizers': [{'type': 'NFKC'}, {'type': 'Lowercase'}]},
                                     pre_tokenizer={'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
                                     post_processor={'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
                                     decoder={'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True}),
                                 ['\u0130stanbul CAT Cat cat', '\uFF23\uFF21\uFF34', '\uFB03 \uFB01 \u0130\u0130', '\u01C4 \u01C5', '\uFF76\uFF9E']),
    'nfd-stripaccents-bytelevel': (bpe(BYTES, [], normalizer={'type': 'Sequence', 'normalizers': [
        {'type': 'NFD'}, {'type': 'StripAccents'}, {'type': 'Strip', 'strip_left': True, 'strip_right': True},
        {'type': 'Replace', 'pattern': {'Regex': '\\s+'}, 'content': ' '}]},
                                       pre_tokenizer={'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True},
                                       decoder={'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True}),
                                   ['  caf\u00e9  na\u0308ive \t x ', '\uAC01\u00C5']),
    'metaspace-first': (bpe(['\u2581', 'a', 'b', '<s>'], [], added_tokens=[added(3, '<s>', True)],
                            pre_tokenizer={'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'first', 'split': True},
                            decoder={'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'first', 'split': True}),
                        ['a<s>b', 'a b', '<s>a b', ' a']),
}

NORMALIZERS = [
    ({'type': 'NFC'}, ['e\u0301', 'A\u030Ax', '\u212B', 'a\u0343\u0334b', '\u1100\u1161\u11A8', '\uFB01']),
    ({'type': 'NFD'}, ['\u00e9', '\uAC01', 'a\u0301\u0323']),
    ({'type': 'NFKC'}, ['\uFB01\u2460', '\uFF76\uFF9E', 'x\u00A0y', '\u2126']),
    ({'type': 'NFKD'}, ['\u00e9\uFB01', '\u2460']),
    ({'type': 'Lowercase'}, ['\u0391\u03A3', 'ABC\u0130', 'Stra\u00DFE']),
    ({'type': 'Strip', 'strip_left': True, 'strip_right': False}, ['  a  ', '\u3000\u0085x\u0085']),
    ({'type': 'Sequence', 'normalizers': [
        {'type': 'Strip', 'strip_left': True, 'strip_right': True}, {'type': 'NFD'}, {'type': 'StripAccents'},
        {'type': 'Replace', 'pattern': {'Regex': '\\s+'}, 'content': ' '}, {'type': 'Prepend', 'prepend': 'x'}]},
     ['  caf\u00e9 \t au\u0085lait  ', '  caf\u00e9 \t au', 'na\u0308ive']),
    ({'type': 'Replace', 'pattern': {'String': 'ab'}, 'content': 'XYZ'}, ['abcab', 'aab']),
    ({'type': 'ByteLevel'}, ['a b\u00e9']),
]

PRE_TOKENIZERS = [
    *[({'type': 'Split', 'pattern': {'String': '-'}, 'behavior': b, 'invert': inv}, ['a-b--c', '-x-', '--'])
      for b in ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'] for inv in [False, True]],
    ({'type': 'Split', 'pattern': {'Regex': LLAMA3_RE}, 'behavior': 'Isolated', 'invert': False},
     ["I'M 12345 hello\n\n", "it's  \t\r\n x", 'caf\u00e9 \U0001F40D!!']),
    ({'type': 'Split', 'pattern': {'Regex': '\\s+'}, 'behavior': 'Removed', 'invert': False}, ['a \u0085b\uFEFFc\u3000d']),
    ({'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True},
     ["I'M x\u0085\u0085y", 'a\uFEFF b', '  hi\n\n there  ', 'caf\u00e9 \U0001F40D']),
    ({'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True}, ['hi there', ' hi']),
    ({'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': False}, ['hi there']),
    ({'type': 'Digits', 'individual_digits': False}, ['ab123c4', '\u0663\u0664x']),
    ({'type': 'Digits', 'individual_digits': True}, ['a12']),
    ({'type': 'Whitespace'}, ['hi, you!  ok', 'caf\u00e9_1 \u00bd']),
    ({'type': 'WhitespaceSplit'}, ['hi, you!\u3000ok\u0085x']),
    ({'type': 'Punctuation', 'behavior': 'Isolated'}, ['a,b\u3001c$d']),
    ({'type': 'Punctuation', 'behavior': 'Contiguous'}, ['a,,b']),
    ({'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'always', 'split': True}, ['hi there', ' x']),
    ({'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'never', 'split': False}, ['hi there']),
    ({'type': 'Sequence', 'pretokenizers': [{'type': 'WhitespaceSplit'}, {'type': 'Digits', 'individual_digits': True}]}, ['ab12 c3']),
]

DECODERS = [
    ({'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True}, [['Hello', 'Ġworld', 'Ġ\u00c3', '\u00a9'], ['\u00c3'], ['<s>', '  ']]),
    ({'type': 'ByteFallback'}, [['a', '<0xC3>', '<0xA9>', 'b'], ['<0xC3>', '<0xC3>', 'x'], ['<0x41>']]),
    ({'type': 'Fuse'}, [['a', 'b', 'c']]),
    ({'type': 'Strip', 'content': ' ', 'start': 1, 'stop': 1}, [['  a  ', 'b', ' c']]),
    ({'type': 'Replace', 'pattern': {'String': '\u2581'}, 'content': ' '}, [['\u2581a\u2581', 'b']]),
    ({'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'always', 'split': True}, [['\u2581a', '\u2581b\u2581c']]),
    ({'type': 'Metaspace', 'replacement': '\u2581', 'prepend_scheme': 'never', 'split': True}, [['\u2581a', '\u2581b']]),
    ({'type': 'BPEDecoder', 'suffix': '</w>'}, [['ab</w>', 'c', 'd</w>']]),
]


def encode_cases(config, texts):
    tok = Tokenizer.from_str(json.dumps(config))
    out = []
    for text in texts:
        e = tok.encode(text)
        plain = tok.encode(text, add_special_tokens=False)
        ds = DecodeStream(skip_special_tokens=False)
        steps = [ds.step(tok, i) for i in e.ids]
        out.append({'text': text, 'ids': e.ids, 'tokens': e.tokens, 'offsets': u16(text, e.offsets), 'idsNoSpecial': plain.ids,
                    'decoded': tok.decode(e.ids, skip_special_tokens=False), 'decodedSkip': tok.decode(e.ids, skip_special_tokens=True),
                    'stream': [s if s is not None else '' for s in steps]})
    return out


def component(kind, config, inputs):
    holder = Tokenizer.from_str(json.dumps(bpe(['a'], [], **{kind: config})))
    part = getattr(holder, kind)
    if kind == 'normalizer':
        return [{'input': t, 'output': part.normalize_str(t)} for t in inputs]
    if kind == 'pre_tokenizer':
        return [{'input': t, 'output': [[s, u16(t, [o])[0]] for s, o in part.pre_tokenize_str(t)]} for t in inputs]
    return [{'input': t, 'output': part.decode(t)} for t in inputs]


def random_texts(n, seed):
    ranges = [(0x20, 0x7e), (0x20, 0x7e), (0x09, 0x0d), (0x80, 0xff), (0x300, 0x36f), (0x370, 0x3ff), (0x400, 0x4ff),
              (0x590, 0x6ff), (0x900, 0x97f), (0x1100, 0x11ff), (0xac00, 0xd7a3), (0x3040, 0x30ff), (0x4e00, 0x9fff),
              (0x2000, 0x206f), (0xfe00, 0xffff), (0x1f300, 0x1faff), (0x10000, 0x10ffff), (0x85, 0x85), (0xa0, 0xa0),
              (0x3000, 0x3000), (0xfb00, 0xfb06), (0xff61, 0xff9f)]
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        s = ''
        for _ in range(rng.randint(0, 60)):
            lo, hi = rng.choice(ranges)
            cp = rng.randint(lo, hi)
            if 0xD800 <= cp <= 0xDFFF:
                continue
            s += chr(cp)
            if rng.random() < 0.1:
                s += ' ' * rng.randint(1, 4)
        texts.append(s)
    return texts + ['  leading', 'trailing  ', '\n\n\n  \t x', 'a\r\n\r\nb', "It's 'quoted' 're", '    def f():\n        return 1\n',
                    '<|endoftext|><|endoftext|>x<|padding|>', ' <|endoftext|> ', 'x  <|endoftext|>  y', 'e\u0301\u0301 n\u0303',
                    '\uFEFF\uFEFFa', '\uFF21\uFF42\uFF43\uFF11', '\U0001F1EB\U0001F1F7\U0001F468\u200D\U0001F469', 'x' * 300, ' ' * 50]


def main():
    neox_json = gzip.decompress((HERE / 'fixtures' / 'gpt-neox-20b-tokenizer.json.gz').read_bytes()).decode('utf8')
    data = {
        'tokenizers': tokenizers.__version__,
        # Each config also gets random Unicode: unknown characters, byte fallback, odd spaces.
        'encode': [{'name': name, 'tokenizer': cfg, 'cases': encode_cases(cfg, texts + random_texts(60, i)[:60])}
                   for i, (name, (cfg, texts)) in enumerate(TOKENIZERS.items())],
        'neoxRandom': encode_cases(json.loads(neox_json), random_texts(400, 7)),
        'normalizers': [{'config': c, 'cases': component('normalizer', c, t)} for c, t in NORMALIZERS],
        'preTokenizers': [{'config': c, 'cases': component('pre_tokenizer', c, t)} for c, t in PRE_TOKENIZERS],
        'decoders': [{'config': c, 'cases': component('decoder', c, t)} for c, t in DECODERS],
    }
    out = HERE / 'fixtures' / 'hf_cases.json.gz'
    out.write_bytes(gzip.compress(json.dumps(data, ensure_ascii=False).encode('utf8'), 9, mtime=0))
    print(f'wrote {out} ({out.stat().st_size} bytes) with tokenizers {tokenizers.__version__}')


if __name__ == '__main__':
    main()
