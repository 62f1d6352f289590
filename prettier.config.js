// Prettier formats the code, tests, benches and JSON. printWidth 160: the sources were written
// to that width (long SQL strings and messages read better on one line); a narrower width
// would rewrap most of the tree for no reader's benefit. Markdown is left as written (see
// .prettierignore): its tables and hand-wrapped prose are easier to review as they are.
export default { printWidth: 160 };
