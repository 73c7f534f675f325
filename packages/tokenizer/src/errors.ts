/**
 * Typed errors. Everything this package throws on purpose is a `TokenizerError`, so callers can
 * catch the family or one kind; messages say what was expected and what was given.
 */
export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A malformed tokenizer file: bad JSON, a missing or mistyped field, a merge naming an unknown token. */
export class TokenizerConfigError extends TokenizerError {}

/** A component type (normalizer, pre-tokenizer, model, post-processor, decoder) this package does not implement. */
export class UnknownComponentError extends TokenizerConfigError {
  constructor(
    /** Which slot: `normalizer`, `pre_tokenizer`, `model`, `post_processor` or `decoder`. */
    readonly component: string,
    /** The `type` found in the file. */
    readonly type: string,
    /** The types that are implemented for this slot. */
    readonly supported: readonly string[],
    /** Where in the file (a JSON path such as `pre_tokenizer.pretokenizers[1]`). */
    readonly path: string,
  ) {
    super(`${path}: unknown ${component} type "${type}" (supported: ${supported.join(', ')})`);
  }
}

/** An id that no token has (decode, idToToken in strict use, streaming decode). */
export class UnknownTokenIdError extends TokenizerError {
  constructor(
    readonly id: number,
    readonly vocabSize: number,
  ) {
    super(`token id ${String(id)} is not in the vocabulary (expected an integer id of a token in 0..${vocabSize - 1}, vocabSize ${vocabSize})`);
  }
}

/** A character a `CharTokenizer` has no id for, when it was built without an unknown token. */
export class UnknownCharacterError extends TokenizerError {
  constructor(
    readonly char: string,
    /** UTF-16 index of the character in the input. */
    readonly index: number,
  ) {
    const cp = char.codePointAt(0) ?? 0;
    super(
      `character ${JSON.stringify(char)} (U+${cp.toString(16).toUpperCase().padStart(4, '0')}) at index ${index} is not in the vocabulary ` +
        '(expected a character seen in the corpus; build the tokenizer with an `unkToken` to map unseen characters to it)',
    );
  }
}
