import fs from "node:fs";
import path from "node:path";

/** The executable file `name` names, or that PATH finds for it, as the kernel would run it. */
export function findExecutable(name: string): string | undefined {
  const windows = process.platform === "win32";
  const extensions = windows ? (process.env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";").concat("") : [""];
  const candidates =
    name.includes("/") || (windows && name.includes("\\"))
      ? [path.resolve(name)]
      : (process.env.PATH ?? "")
          .split(path.delimiter)
          .filter(Boolean)
          .map((dir) => path.join(dir, name));
  for (const candidate of candidates) {
    for (const extension of extensions) {
      try {
        fs.accessSync(candidate + extension, fs.constants.X_OK);
        if (fs.statSync(candidate + extension).isFile()) return candidate + extension;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}
