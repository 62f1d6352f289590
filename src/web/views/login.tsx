import type { Paths } from "../paths.js";

/** The built-in users' sign-in form. */
export function LoginForm(props: { paths: Paths; next: string; user?: string; problem?: string }) {
  return (
    <section class="login panel">
      <h1>Sign in</h1>
      {props.problem && <p class="error-box">{props.problem}</p>}
      <form method="post" action={props.paths.to("/login")} class="stack">
        <input type="hidden" name="next" value={props.next} />
        <label>
          User
          <input name="user" autocomplete="username" required maxlength={191} value={props.user ?? ""} autofocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required maxlength={1024} />
        </label>
        <button type="submit" class="primary">
          Sign in
        </button>
      </form>
    </section>
  );
}
