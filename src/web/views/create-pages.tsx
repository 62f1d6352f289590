import type { FormField } from "../create/schema-form.js";
import { inputName } from "../create/schema-form.js";
import type { Paths } from "../paths.js";

/** The types this user may create, each with its description. */
export function CreateMenu(props: { types: Array<{ name: string; description: string }>; paths: Paths }) {
  return (
    <section>
      <h1>New job</h1>
      {props.types.length === 0 ? (
        <p class="panel muted">There is no job type you may create here.</p>
      ) : (
        <div class="cards">
          {props.types.map((type) => (
            <a class="card" href={props.paths.to(`/new/${type.name}`)}>
              <div class="value mono">{type.name}</div>
              <div class="label">{type.description}</div>
            </a>
          ))}
        </div>
      )}
    </section>
  );
}

/** A type's form, generated from its job_data schema; `values` refill it after a refusal, `problem` says why. */
export function CreateForm(props: {
  type: string;
  description: string;
  fields: FormField[];
  values: (name: string) => string | undefined;
  problem?: string;
  paths: Paths;
}) {
  return (
    <section>
      <h1>
        New <span class="mono">{props.type}</span> job
      </h1>
      {props.description && <p class="muted">{props.description}</p>}
      {props.problem && (
        <p class="error-box" role="alert">
          {props.problem}
        </p>
      )}
      <form method="post" action={props.paths.to(`/new/${props.type}`)} class="stack panel" novalidate>
        {props.fields.map((field) => (
          <Field field={field} value={props.values(inputName(field)) ?? ""} />
        ))}
        <div class="toolbar">
          <button type="submit" class="primary">
            Add the job
          </button>
          <a href={props.paths.to("/new")}>Cancel</a>
        </div>
      </form>
    </section>
  );
}

function Field(props: { field: FormField; value: string }) {
  const { field, value } = props;
  const name = inputName(field);
  const label = field.name === "" ? "job_data" : field.name;
  let input;
  switch (field.kind) {
    case "choice":
    case "boolean": {
      const choices = field.kind === "boolean" ? ["true", "false"] : (field.choices ?? []);
      input = (
        <select name={name}>
          <option value="">{field.required ? "choose…" : "(default)"}</option>
          {choices.map((choice) => (
            <option value={choice} selected={value === choice}>
              {choice}
            </option>
          ))}
        </select>
      );
      break;
    }
    case "json":
      input = (
        <textarea name={name} spellcheck={false}>
          {value}
        </textarea>
      );
      break;
    default:
      input = <input name={name} value={value} inputmode={field.kind === "number" ? "decimal" : undefined} />;
  }
  return (
    <label>
      <span>
        <span class="mono">{label}</span>
        {field.required && " (required)"}
      </span>
      {input}
      {field.hint && <span class="hint">{field.hint}</span>}
    </label>
  );
}
