// The few command-line conventions every benchmark shares: `--name value`, comma
// lists of numbers, and `--quick` picking smaller defaults.
export interface BenchArgs {
  quick: boolean;
  /** the value after `--name`, if given */
  get(name: string): string | undefined;
  /** `--name 32,64` as numbers, else `fallback` */
  numbers(name: string, fallback: number[]): number[];
  has(flag: string): boolean;
}

export function benchArgs(argv: string[]): BenchArgs {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    quick: argv.includes("--quick"),
    get,
    numbers: (name, fallback) => get(name)?.split(",").map(Number) ?? fallback,
    has: (flag) => argv.includes(`--${flag}`),
  };
}
