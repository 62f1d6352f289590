/** fail: something needed is missing (exit 1). skip: not checked because a check it depends on failed. */
export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
}
