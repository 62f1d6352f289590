// ESLint: typescript-eslint's recommended rules on the TypeScript sources. Formatting is
// Prettier's (prettier.config.js); which module may import what is dependency-cruiser's
// (.dependency-cruiser.cjs). A rule that proves wrong here is changed below, with its reason,
// never silenced in the code.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "demo/**"] },
  // dependency-cruiser reads its config as CommonJS.
  { files: ["**/*.cjs"], languageOptions: { sourceType: "commonjs", globals: { module: "writable", require: "readonly" } } },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: "module",
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        URL: "readonly",
      },
    },
    rules: {
      // Destructuring to leave a field out (`const { log: _, ...rest } = row`) names what it drops.
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_", caughtErrors: "none" },
      ],
      // Terminal escape handling matches control characters on purpose (src/cli, src/quote.ts).
      "no-control-regex": "off",
    },
  },
  {
    // The jobs page's own browser script: a classic script (no modules, no build step) that
    // runs beside htmx, which it reaches through the global `htmx`.
    files: ["src/web/static/**/*.js"],
    languageOptions: {
      sourceType: "script",
      globals: { document: "readonly", window: "readonly", EventSource: "readonly", htmx: "readonly" },
    },
  },
  {
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: {
      // Rows read back from the database in tests and benches (`Record<string, any>`) are
      // checked by the assertions that follow, column by column; typing each query's row
      // would restate the migration in every test without catching anything more.
      "@typescript-eslint/no-explicit-any": "off",
    },
  },
);
