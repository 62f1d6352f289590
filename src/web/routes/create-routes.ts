import type { Hono } from "hono";
import { z } from "zod";
import { addJobs } from "../../client/enqueue.js";
import { newJobProblem } from "../../client/check-new-job.js";
import { noteAction } from "../../queue/job-actions.js";
import { formFields, jobDataFrom } from "../create/schema-form.js";
import { readForm } from "../form-body.js";
import { forbidden } from "../http-problem.js";
import { creatableTypes, whyNotCreate } from "../permissions.js";
import { renderPage } from "../render.js";
import type { AppEnv, Site, WebContext } from "../site.js";
import { CreateForm, CreateMenu } from "../views/create-pages.js";

/**
 * Creating a job: a menu of the types this user may create (create_job, the type's
 * createPermissions, not hidden) and a form per type made from its job_data schema. The job
 * is checked exactly as `add` checks it (src/client/check-new-job.ts), so a refusal gives the
 * command line's sentence; it belongs to the user who created it, and its log says so.
 */
export function createRoutes(app: Hono<AppEnv>, site: Site): void {
  const { config, registry } = site;
  const schemaOf = (type: string) => z.toJSONSchema(registry.get(type)!.schema, { io: "input", unrepresentable: "any" });
  const checked = (c: WebContext) => {
    const type = c.req.param("type") ?? "";
    const why = whyNotCreate(c.get("identity"), type, config, registry);
    if (why) throw forbidden(why);
    return { type, description: registry.get(type)!.description ?? "", fields: formFields(schemaOf(type)) };
  };

  app.get(site.paths.to("/new"), (c) => {
    const types = creatableTypes(c.get("identity"), config, registry).map((name) => ({ name, description: registry.get(name)!.description ?? "" }));
    return renderPage(c, site, "New job", "new", CreateMenu({ types, paths: site.paths }));
  });

  app.get(site.paths.to("/new/:type"), (c) => {
    const { type, description, fields } = checked(c);
    return renderPage(c, site, `New ${type} job`, "new", CreateForm({ type, description, fields, values: () => undefined, paths: site.paths }));
  });

  app.post(site.paths.to("/new/:type"), async (c) => {
    const identity = c.get("identity");
    const { type, description, fields } = checked(c);
    const form = await readForm(c);
    const built = jobDataFrom(fields, form.query);
    const refuse = (problem: string) =>
      renderPage(c, site, `New ${type} job`, "new", CreateForm({ type, description, fields, values: form.query, problem, paths: site.paths }), 400);
    if ("problem" in built) return refuse(built.problem);
    const job = { type, data: built.data, user: identity.user };
    // Forceable problems (a template this config does not know) are refused too: the page has no --force.
    const problem = newJobProblem(job, registry, config.commands);
    if (problem) return refuse(problem.message);
    const [added] = await addJobs(site.db, config, [job]);
    await noteAction(site.db, [added!.ref], `created by ${identity.user} (web)`, config.logMaxBytes);
    return c.redirect(site.paths.to(`/job/${added!.ref}`), 303);
  });
}
