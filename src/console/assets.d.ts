// The console's built files, imported `with { type: "file" }`: the bundler embeds them
// and the import is the path to read them from (inside the binary when compiled).
declare module "*.gz" {
  const path: string;
  export default path;
}
