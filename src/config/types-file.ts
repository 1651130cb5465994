// `alvd types`: src/gen/alvd.d.ts as this binary was built with it. Embedded deflated
// (`bun run gen` writes both): as text it would cost the binary its full size.
// @ts-expect-error a file asset: Bun's bundler embeds it and gives its path
import packed from "../gen/alvd.d.ts.deflate" with { type: "file" };

export async function configTypes(): Promise<string> {
  return new TextDecoder().decode(Bun.inflateSync(await Bun.file(packed as string).bytes()));
}
