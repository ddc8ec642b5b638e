// Checks on the raw text of JSON that JSON.parse cannot make: it reads `1e3` and `1.0` as the
// integer they equal, and keeps the last of two equal keys silently. Money must be written as
// plain integers, and a signed object with two `amount`s could be shown one way and spent another.
// Pure: no I/O.

/**
 * The first problem of `text` (already known to be valid JSON) or undefined: a number with a
 * fraction or an exponent, or a key repeated within one object.
 */
export function rawJsonProblem(text: string): string | undefined {
  return scan(text, true);
}

/** A key repeated within one object of `text` (valid JSON), or undefined. */
export function duplicateJsonKey(text: string): string | undefined {
  return scan(text, false);
}

function scan(text: string, integersOnly: boolean): string | undefined {
  // One frame per open container: the keys seen so far (objects) or null (arrays).
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const keys = stack.at(-1);
      if (expectKey && keys) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return `duplicate key "${key}"`;
        keys.add(key);
      }
      i = end;
    } else if (ch === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (ch === '[') {
      stack.push(null);
      expectKey = false;
    } else if (ch === '}' || ch === ']') {
      stack.pop();
      expectKey = false;
    } else if (ch === ',') {
      expectKey = stack.at(-1) != null;
    } else if (ch === ':') {
      expectKey = false;
    } else if (integersOnly && (ch === '.' || ch === 'e' || ch === 'E') && i > 0 && /\d/.test(text[i - 1]!)) {
      // Outside strings a digit is only ever part of a number, so this is a fraction or exponent.
      return 'numbers must be plain integers (no fraction or exponent)';
    }
  }
  return undefined;
}
