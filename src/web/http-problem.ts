/**
 * A request the page refuses, with the status and the one sentence the person sees: 400 for
 * bad input, 403 for a missing permission, 404 for no such thing, and so on. The app's error
 * handler renders it (app.ts); anything else is a 500 with no detail shown.
 */
export class HttpProblem extends Error {
  override name = "HttpProblem";
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new HttpProblem(400, message);
export const forbidden = (message: string) => new HttpProblem(403, message);
export const notFound = (message: string) => new HttpProblem(404, message);
