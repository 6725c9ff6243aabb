/** Picks black or white text for a #rrggbb background, whichever has more contrast (WCAG). */
export function textOn(hex: string): string {
  const rgb = parseHex(hex);
  if (!rgb) return '#000000';
  const lum = relativeLuminance(rgb);
  // Contrast with black is (L+0.05)/0.05, with white 1.05/(L+0.05); they are equal at L ~= 0.179.
  return lum > 0.179 ? '#000000' : '#ffffff';
}

/** A safe CSS colour from untrusted input: only #rgb / #rrggbb pass, anything else gets a grey. */
export function safeColor(value: unknown, fallback = '#9aa0a6'): string {
  return typeof value === 'string' && /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(value) ? value : fallback;
}

function parseHex(hex: string): [number, number, number] | null {
  const m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(hex);
  if (!m) return null;
  let h = m[1];
  if (h.length === 3) h = h.split('').map((c) => c + c).join('');
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)) as [number, number, number];
}

function relativeLuminance([r, g, b]: [number, number, number]): number {
  const f = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
}
