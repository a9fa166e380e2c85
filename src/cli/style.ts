export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  cyan(text: string): string;
}

const wrap = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;

const COLORS: Style = { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), cyan: wrap(36, 39) };
const PLAIN: Style = { bold: (t) => t, dim: (t) => t, red: (t) => t, cyan: (t) => t };

/** Colour only on a terminal that wants it (https://no-color.org, TERM=dumb). */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== 'dumb';
}

export function createStyle(color: boolean): Style {
  return color ? COLORS : PLAIN;
}
