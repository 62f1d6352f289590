/** Why the runner stopped a job from outside: the job's AbortSignal carries one of these. */
export class JobStopped extends Error {
  constructor(
    readonly why: "cancelled" | "lost" | "shutdown",
    message: string,
  ) {
    super(message);
  }
}
