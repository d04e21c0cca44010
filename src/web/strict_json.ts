// A strict JSON reader for the page's model-file parser, with the rules of the engine's
// native/core/model/json.cc: valid UTF-8 only, no lone surrogates, no duplicate keys, no leading
// zeros, numbers inside the double range, a nesting limit and a cap on the number of values.
// JSON.parse accepts duplicate keys (the last wins) and lone surrogates, and reports no byte
// offset, so an untrusted header goes through this instead. Objects are Maps so that member order
// is the file's (plain objects put integer-like keys first).
//
// Field mirrors the engine's json::Field: a value with the path it was reached by, whose getters
// throw "<path>: expected ..., got ..." through the error factory the caller passes.

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

export const JSON_MAX_DEPTH = 64;
export const JSON_DEFAULT_MAX_VALUES = 1 << 20;
const MAX_EXACT_INTEGER = 2 ** 53;

/** Thrown by the parser and by Field; the model-file layer wraps it in its own error class. */
export class JsonError extends Error {
  override name = 'JsonError';
}

function printableByte(c: number | undefined): string {
  if (c === undefined) return 'end of input';
  if (c >= 0x20 && c < 0x7f) return `'${String.fromCharCode(c)}'`;
  return `byte 0x${c.toString(16).padStart(2, '0')}`;
}

/** The engine's json::append_quoted: a JSON string literal. */
export function quoteJson(s: string): string {
  return JSON.stringify(s);
}

/** Short rendering of a value for "got ..." parts of messages (json::describe). */
export function describeJson(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'string') return v.length <= 40 ? quoteJson(v) : `${quoteJson(v.slice(0, 37)).slice(0, -1)}..."`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return 'an object';
}

export function formatNumber(d: number): string {
  return Number.isInteger(d) && Math.abs(d) <= MAX_EXACT_INTEGER ? d.toFixed(0) : String(d);
}

export function isJsonInteger(v: JsonValue): v is number {
  return typeof v === 'number' && Number.isFinite(v) && Math.floor(v) === v && Math.abs(v) <= MAX_EXACT_INTEGER;
}

export function isJsonObject(v: JsonValue): v is JsonObject {
  return v instanceof Map;
}

export function jsonTypeName(v: JsonValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Map) return 'object';
  return typeof v === 'boolean' ? 'bool' : typeof v;
}

// Only ever given bytes utf8Sequence() validated; ignoreBOM keeps a leading U+FEFF in a name.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

class Parser {
  private pos = 0;
  private values = 0;

  constructor(
    private readonly s: Uint8Array,
    private readonly source: string,
    private readonly maxValues: number,
  ) {}

  document(): JsonValue {
    this.skipWs();
    const v = this.value(0);
    this.skipWs();
    if (this.pos !== this.s.length) this.fail('expected end of document after the top-level value');
    return v;
  }

  private failAt(at: number, what: string): never {
    throw new JsonError(`${this.source}: byte ${at}: ${what}, got ${printableByte(this.s[at])}`);
  }
  private fail(what: string): never {
    return this.failAt(this.pos, what);
  }
  private failPlain(at: number, what: string): never {
    throw new JsonError(`${this.source}: byte ${at}: ${what}`);
  }

  private atEnd(): boolean {
    return this.pos >= this.s.length;
  }
  private peek(): number {
    return this.s[this.pos] as number;
  }

  private skipWs(): void {
    while (!this.atEnd()) {
      const c = this.peek();
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos++;
      else break;
    }
  }

  private literal(lit: string): void {
    for (let i = 0; i < lit.length; i++) {
      if (this.s[this.pos + i] !== lit.charCodeAt(i)) this.failAt(this.pos + i, `expected '${lit}'`);
    }
    this.pos += lit.length;
  }

  private value(depth: number): JsonValue {
    if (this.atEnd()) this.fail('expected a value');
    if (++this.values > this.maxValues) this.failPlain(this.pos, `more than ${this.maxValues} values in one document`);
    const c = this.peek();
    switch (c) {
      case 0x7b: return this.object(depth + 1);
      case 0x5b: return this.array(depth + 1);
      case 0x22: return this.string();
      case 0x74: this.literal('true'); return true;
      case 0x66: this.literal('false'); return false;
      case 0x6e: this.literal('null'); return null;
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
        return this.fail('expected a value (object, array, string, number, true, false or null)');
    }
  }

  private checkDepth(depth: number): void {
    if (depth > JSON_MAX_DEPTH) this.failPlain(this.pos, `nesting deeper than ${JSON_MAX_DEPTH} levels`);
  }

  private object(depth: number): JsonObject {
    this.checkDepth(depth);
    this.pos++;
    const members: JsonObject = new Map();
    this.skipWs();
    if (!this.atEnd() && this.peek() === 0x7d) {
      this.pos++;
      return members;
    }
    for (;;) {
      this.skipWs();
      if (this.atEnd() || this.peek() !== 0x22) this.fail('expected a string key in object');
      const keyAt = this.pos;
      const key = this.string();
      if (members.has(key)) this.failPlain(keyAt, `duplicate object key ${quoteJson(key)}`);
      this.skipWs();
      if (this.atEnd() || this.peek() !== 0x3a) this.fail("expected ':' after object key");
      this.pos++;
      this.skipWs();
      members.set(key, this.value(depth));
      this.skipWs();
      if (this.atEnd()) this.fail("expected ',' or '}' after object member");
      if (this.peek() === 0x2c) {
        this.pos++;
        continue;
      }
      if (this.peek() === 0x7d) {
        this.pos++;
        return members;
      }
      this.fail("expected ',' or '}' after object member");
    }
  }

  private array(depth: number): JsonValue[] {
    this.checkDepth(depth);
    this.pos++;
    const items: JsonValue[] = [];
    this.skipWs();
    if (!this.atEnd() && this.peek() === 0x5d) {
      this.pos++;
      return items;
    }
    for (;;) {
      this.skipWs();
      items.push(this.value(depth));
      this.skipWs();
      if (this.atEnd()) this.fail("expected ',' or ']' after array element");
      if (this.peek() === 0x2c) {
        this.pos++;
        continue;
      }
      if (this.peek() === 0x5d) {
        this.pos++;
        return items;
      }
      this.fail("expected ',' or ']' after array element");
    }
  }

  private hex4(): number {
    let v = 0;
    for (let i = 0; i < 4; i++) {
      if (this.atEnd()) this.fail('expected 4 hex digits after \\u');
      const c = this.peek();
      let d: number;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      else return this.fail('expected 4 hex digits after \\u');
      v = v * 16 + d;
      this.pos++;
    }
    return v;
  }

  // Validates one multi-byte UTF-8 sequence at pos (lead byte >= 0x80) and steps over it.
  private utf8Sequence(): void {
    const start = this.pos;
    const c = this.peek();
    let len: number;
    let cp: number;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return this.fail('invalid UTF-8 in string');
    }
    for (let i = 1; i < len; i++) {
      if (start + i >= this.s.length) this.failAt(start + i, 'truncated UTF-8 sequence in string');
      const cc = this.s[start + i] as number;
      if ((cc & 0xc0) !== 0x80) this.failAt(start + i, 'invalid UTF-8 continuation byte in string');
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not valid UTF-8.
    if ((len === 3 && cp < 0x800) || (len === 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      this.failPlain(start, 'invalid UTF-8 sequence in string (overlong, surrogate or out of range)');
    }
    this.pos = start + len;
  }

  private string(): string {
    this.pos++;
    let out = '';
    let runStart = this.pos;
    // Runs of plain bytes are validated here (the engine's rules and byte offsets), then decoded.
    const flush = (end: number) => {
      if (end > runStart) out += utf8.decode(this.s.subarray(runStart, end));
    };
    for (;;) {
      if (this.atEnd()) {
        flush(this.pos);
        this.fail('expected \'"\' to close the string');
      }
      const c = this.peek();
      if (c === 0x22) {
        flush(this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) this.fail('control characters must be escaped in strings');
      if (c >= 0x80) {
        this.utf8Sequence();
        continue;
      }
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      flush(this.pos);
      const escAt = this.pos;
      this.pos++;
      if (this.atEnd()) this.fail("expected an escape character after '\\'");
      const e = this.s[this.pos++] as number;
      switch (e) {
        case 0x22: out += '"'; break;
        case 0x5c: out += '\\'; break;
        case 0x2f: out += '/'; break;
        case 0x62: out += '\b'; break;
        case 0x66: out += '\f'; break;
        case 0x6e: out += '\n'; break;
        case 0x72: out += '\r'; break;
        case 0x74: out += '\t'; break;
        case 0x75: {
          const cp = this.hex4();
          if (cp >= 0xdc00 && cp <= 0xdfff) this.failPlain(escAt, 'lone low surrogate \\u escape in string');
          if (cp >= 0xd800 && cp <= 0xdbff) {
            if (this.s[this.pos] !== 0x5c || this.s[this.pos + 1] !== 0x75) {
              this.failPlain(escAt, 'high surrogate \\u escape not followed by a low surrogate');
            }
            this.pos += 2;
            const lo = this.hex4();
            if (lo < 0xdc00 || lo > 0xdfff) this.failPlain(escAt, 'high surrogate \\u escape not followed by a low surrogate');
            out += String.fromCharCode(cp, lo);
          } else {
            out += String.fromCharCode(cp);
          }
          break;
        }
        default:
          this.failAt(this.pos - 1, 'expected a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)');
      }
      runStart = this.pos;
    }
  }

  private isDigit(): boolean {
    if (this.atEnd()) return false;
    const c = this.peek();
    return c >= 0x30 && c <= 0x39;
  }

  private number(): number {
    const start = this.pos;
    if (this.peek() === 0x2d) this.pos++;
    if (!this.isDigit()) this.fail('expected a digit in number');
    if (this.peek() === 0x30) {
      this.pos++;
      if (this.isDigit()) this.failPlain(start, 'numbers must not have leading zeros');
    } else {
      while (this.isDigit()) this.pos++;
    }
    if (!this.atEnd() && this.peek() === 0x2e) {
      this.pos++;
      if (!this.isDigit()) this.fail("expected a digit after '.' in number");
      while (this.isDigit()) this.pos++;
    }
    if (!this.atEnd() && (this.peek() === 0x65 || this.peek() === 0x45)) {
      this.pos++;
      if (!this.atEnd() && (this.peek() === 0x2b || this.peek() === 0x2d)) this.pos++;
      if (!this.isDigit()) this.fail('expected a digit in number exponent');
      while (this.isDigit()) this.pos++;
    }
    let text = '';
    for (let i = start; i < this.pos; i++) text += String.fromCharCode(this.s[i] as number);
    const v = Number(text);
    // Underflow rounds to (signed) zero like from_chars' handling in the engine; overflow is an error.
    if (!Number.isFinite(v)) this.failPlain(start, `number ${text.slice(0, 40)} is out of the double range`);
    return v;
  }
}

/** Parses a complete document; `source` names the input in errors ("model.safetensors header"). */
export function parseStrictJson(bytes: Uint8Array, source: string, maxBytes = 64 * 2 ** 20,
  maxValues = JSON_DEFAULT_MAX_VALUES): JsonValue {
  if (bytes.length > maxBytes) throw new JsonError(`${source}: document is ${bytes.length} bytes, more than the limit of ${maxBytes}`);
  return new Parser(bytes, source, maxValues).document();
}

function isIdentifier(key: string): boolean {
  return /^[A-Za-z0-9_]+$/.test(key);
}

function memberPath(base: string, key: string): string {
  if (isIdentifier(key)) return base ? `${base}.${key}` : key;
  return `${base}[${quoteJson(key)}]`;
}

/** A value with the path it was reached by; getters throw JsonError("<path>: ..."). */
export class Field {
  constructor(
    readonly value: JsonValue,
    readonly path: string,
  ) {}

  fail(message: string): never {
    throw new JsonError(`${this.path}: ${message}`);
  }

  expectObject(): JsonObject {
    if (!isJsonObject(this.value)) this.fail(`expected an object, got ${describeJson(this.value)}`);
    return this.value;
  }

  /** Required member. */
  at(key: string): Field {
    const m = this.expectObject().get(key);
    if (m === undefined) throw new JsonError(`${memberPath(this.path, key)}: required field is missing`);
    return new Field(m, memberPath(this.path, key));
  }

  /** Optional member (this must still be an object). */
  get(key: string): Field | undefined {
    const m = this.expectObject().get(key);
    return m === undefined ? undefined : new Field(m, memberPath(this.path, key));
  }

  size(minLen = 0, maxLen = Number.MAX_SAFE_INTEGER): number {
    if (!Array.isArray(this.value)) this.fail(`expected an array, got ${describeJson(this.value)}`);
    const n = this.value.length;
    if (n < minLen || n > maxLen) {
      if (minLen === maxLen) this.fail(`expected an array of length ${minLen}, got length ${n}`);
      this.fail(`expected an array of length ${minLen}..${maxLen}, got length ${n}`);
    }
    return n;
  }

  index(i: number): Field {
    const n = this.size();
    if (i >= n) this.fail(`index ${i} past the end (length ${n})`);
    return new Field((this.value as JsonValue[])[i] as JsonValue, `${this.path}[${i}]`);
  }

  string(): string {
    if (typeof this.value !== 'string') this.fail(`expected a string, got ${describeJson(this.value)}`);
    return this.value;
  }

  number(min: number, max: number): number {
    const v = this.value;
    if (typeof v !== 'number' || !(v >= min && v <= max)) {
      this.fail(`expected a number in [${formatNumber(min)}, ${formatNumber(max)}], got ${describeJson(v)}`);
    }
    return v;
  }

  positiveNumber(max: number): number {
    const v = this.value;
    if (typeof v !== 'number' || !(v > 0 && v <= max)) {
      this.fail(`expected a positive number <= ${formatNumber(max)}, got ${describeJson(v)}`);
    }
    return v;
  }

  integer(min: number, max: number): number {
    const v = this.value;
    if (!isJsonInteger(v) || v < min || v > max) this.fail(`expected an integer in [${min}, ${max}], got ${describeJson(v)}`);
    return v;
  }

  positiveInt(max: number): number {
    const v = this.value;
    if (!isJsonInteger(v) || v < 1 || v > max) this.fail(`expected a positive integer <= ${max}, got ${describeJson(v)}`);
    return v;
  }
}
