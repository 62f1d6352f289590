import type { Child } from "hono/jsx";
import type { Identity } from "./identity/identity.js";
import { creatableTypes } from "./permissions.js";
import type { Site, WebContext } from "./site.js";
import { Page, type Section } from "./views/layout.js";

/** A whole page in the site's frame: the nonce of this response, the user, the nav. */
export function renderPage(c: WebContext, site: Site, title: string, section: Section, body: Child, status: 200 | 400 | 403 = 200) {
  const identity: Identity | undefined = c.get("identity");
  return c.html(
    <Page
      paths={site.paths}
      nonce={c.get("secureHeadersNonce")}
      title={title}
      identity={identity}
      section={section}
      canCreate={identity ? creatableTypes(identity, site.config, site.registry).length > 0 : false}
      readOnly={site.readOnly}
    >
      {body}
    </Page>,
    status,
  );
}
