import os from "node:os";

/**
 * The `user` of jobs added from the command line without --user, as AtoM labels its CLI jobs:
 * "cli:" and the account that ran the command. The prefix tells an operator at a glance that
 * no application user asked for the job, and `list --user cli:deploy` finds one account's jobs;
 * the account name says who to ask about them.
 */
export function commandLineUser(): string {
  return `cli:${accountName()}`.slice(0, 191);
}

/** The account running this command (also named in the restart stamp). */
export function accountName(): string {
  try {
    return os.userInfo().username;
  } catch {
    // A uid with no passwd entry (some containers): the environment, else the number.
    return process.env.USER || process.env.USERNAME || (process.getuid ? `uid${process.getuid()}` : "unknown");
  }
}
