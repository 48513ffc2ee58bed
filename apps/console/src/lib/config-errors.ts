/**
 * Validation errors of ValidateConfiguration are plain strings; where one
 * names a file and a line (YAML parse errors do), the editor marks that line.
 */
export interface LocatedError {
  message: string;
  file?: string;
  line?: number;
}

export function locateErrors(errors: string[], fileNames: string[]): LocatedError[] {
  // Longer names first, so "a.yaml" does not claim an error of "b.a.yaml".
  const names = [...fileNames].sort((x, y) => y.length - x.length);
  return errors.map((message) => {
    const file = names.find((n) => message.includes(n));
    const m = /\bline (\d+)/i.exec(message) ?? /:(\d+):\d+/.exec(message);
    return { message, ...(file ? { file } : {}), ...(m ? { line: Number(m[1]) } : {}) };
  });
}

/** Configuration and assignment names the API accepts (same rule as the server's resource names). */
export function checkResourceName(name: string): string {
  if (!name) return 'A name is required.';
  if (name.length > 63) return 'At most 63 characters.';
  if (!/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/.test(name)) return "Lowercase letters, digits, '.', '_' or '-'; starts and ends with a letter or digit.";
  return '';
}
