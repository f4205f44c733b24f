// Package docs holds Herald's REST API description, docs/openapi.yaml,
// embedded so the server can serve it and render it as a readable page.
package docs

import _ "embed"

// OpenAPI is the OpenAPI 3.1 description of /api/v1.
//
//go:embed openapi.yaml
var OpenAPI []byte
