package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"gopkg.in/yaml.v3"

	"github.com/heraldhq/herald/docs"
	"github.com/heraldhq/herald/views/transactional"
)

// The subset of OpenAPI 3.1 the reference page shows.
type oaDoc struct {
	Info struct {
		Title, Version, Description string
	}
	Tags       []struct{ Name string }
	Paths      yaml.Node
	Components struct {
		Parameters map[string]oaParam
		Responses  map[string]oaResponse
		Schemas    map[string]*oaSchema
	}
}

type oaOperation struct {
	Tags        []string
	Summary     string
	Description string
	Role        string `yaml:"x-herald-role"`
	Parameters  []oaParam
	RequestBody *struct {
		Content map[string]oaMedia
	} `yaml:"requestBody"`
	Responses map[string]oaResponse
}

type oaParam struct {
	Ref         string `yaml:"$ref"`
	Name, In    string
	Required    bool
	Description string
	Schema      *oaSchema
}

type oaResponse struct {
	Ref         string `yaml:"$ref"`
	Description string
	Content     map[string]oaMedia
}

type oaMedia struct {
	Schema  *oaSchema
	Example any
}

type oaSchema struct {
	Ref         string `yaml:"$ref"`
	Type        any
	Format      string
	Description string
	Properties  map[string]*oaSchema
	Required    []string
	OneOf       []*oaSchema `yaml:"oneOf"`
	Items       *oaSchema
	Enum        []any
}

var httpMethods = []string{"get", "post", "put", "patch", "delete"}

// openAPIFile serves docs/openapi.yaml; the API description is public.
func (h *Handlers) openAPIFile(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml; charset=utf-8", docs.OpenAPI)
}

// apiDocs renders the OpenAPI file as a readable reference.
func (h *Handlers) apiDocs(c echo.Context) error {
	vm, err := buildDocsView(docs.OpenAPI)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, transactional.Docs(h.page(c, "API reference", "transactional"), vm), nil)
}

// buildDocsView turns the OpenAPI document into the page's view model,
// endpoints grouped by tag in the document's order.
func buildDocsView(raw []byte) (transactional.DocsView, error) {
	var d oaDoc
	if err := yaml.Unmarshal(raw, &d); err != nil {
		return transactional.DocsView{}, fmt.Errorf("handlers: parse openapi.yaml: %w", err)
	}
	vm := transactional.DocsView{Title: d.Info.Title, Version: "v" + d.Info.Version, Description: d.Info.Description,
		Auth: "Base URL /api/v1. Errors: {\"error\": {\"code\", \"message\", \"fields\"}}."}
	groups := map[string]*transactional.DocGroup{}
	var order []string
	for _, t := range d.Tags {
		groups[t.Name] = &transactional.DocGroup{Name: t.Name}
		order = append(order, t.Name)
	}
	for i := 0; i+1 < len(d.Paths.Content); i += 2 {
		path, item := d.Paths.Content[i].Value, d.Paths.Content[i+1]
		var shared struct{ Parameters []oaParam }
		_ = item.Decode(&shared)
		for j := 0; j+1 < len(item.Content); j += 2 {
			method := item.Content[j].Value
			if !slices.Contains(httpMethods, method) {
				continue
			}
			var op oaOperation
			if err := item.Content[j+1].Decode(&op); err != nil {
				return vm, fmt.Errorf("handlers: openapi %s %s: %w", method, path, err)
			}
			ep := d.endpoint(strings.ToUpper(method), path, op, shared.Parameters)
			tag := "Other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			if groups[tag] == nil {
				groups[tag] = &transactional.DocGroup{Name: tag}
				order = append(order, tag)
			}
			groups[tag].Endpoints = append(groups[tag].Endpoints, ep)
		}
	}
	for _, name := range order {
		if g := groups[name]; len(g.Endpoints) > 0 {
			vm.Groups = append(vm.Groups, *g)
		}
	}
	return vm, nil
}

func (d *oaDoc) endpoint(method, path string, op oaOperation, shared []oaParam) transactional.Endpoint {
	ep := transactional.Endpoint{Method: method, Path: "/api/v1" + path, Summary: op.Summary, Description: op.Description,
		Role: op.Role, Anchor: strings.ToLower(method) + strings.NewReplacer("/", "-", "{", "", "}", "").Replace(path)}
	for _, p := range append(slices.Clone(shared), op.Parameters...) {
		if p.Ref != "" {
			p = d.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
		}
		ep.Params = append(ep.Params, transactional.DocParam{Name: p.Name, In: p.In, Type: d.typeOf(p.Schema),
			Description: p.Description, Required: p.Required})
	}
	if op.RequestBody != nil {
		for ctype, media := range op.RequestBody.Content {
			s := d.resolve(media.Schema)
			if s != nil {
				names := make([]string, 0, len(s.Properties))
				for name := range s.Properties {
					names = append(names, name)
				}
				slices.SortFunc(names, func(a, b string) int {
					ra, rb := slices.Contains(s.Required, a), slices.Contains(s.Required, b)
					if ra != rb {
						if ra {
							return -1
						}
						return 1
					}
					return strings.Compare(a, b)
				})
				in := "body"
				if strings.HasPrefix(ctype, "multipart/") {
					in = "form"
				}
				for _, name := range names {
					prop := s.Properties[name]
					ep.Params = append(ep.Params, transactional.DocParam{Name: name, In: in, Type: d.typeOf(prop),
						Description: d.resolveDescription(prop), Required: slices.Contains(s.Required, name)})
				}
			}
			if media.Example != nil {
				ep.RequestExample = pretty(media.Example)
			}
		}
	}
	codes := make([]string, 0, len(op.Responses))
	for code := range op.Responses {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		r := op.Responses[code]
		if r.Ref != "" {
			r = d.Components.Responses[strings.TrimPrefix(r.Ref, "#/components/responses/")]
		}
		out := transactional.DocResponse{Status: code, Description: r.Description}
		for _, media := range r.Content {
			if media.Example != nil {
				out.Example = pretty(media.Example)
			}
		}
		ep.Responses = append(ep.Responses, out)
	}
	return ep
}

func (d *oaDoc) resolve(s *oaSchema) *oaSchema {
	if s != nil && s.Ref != "" {
		return d.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	return s
}

func (d *oaDoc) resolveDescription(s *oaSchema) string {
	if s == nil {
		return ""
	}
	if s.Description == "" && s.Ref != "" {
		if r := d.resolve(s); r != nil {
			return r.Description
		}
	}
	return s.Description
}

// typeOf names a schema's type for people: "string", "integer[]",
// "array | object", "Rules".
func (d *oaDoc) typeOf(s *oaSchema) string {
	if s == nil {
		return ""
	}
	if s.Ref != "" {
		return s.Ref[strings.LastIndex(s.Ref, "/")+1:]
	}
	if len(s.OneOf) > 0 {
		var parts []string
		for _, o := range s.OneOf {
			parts = append(parts, d.typeOf(o))
		}
		return strings.Join(parts, " | ")
	}
	t := ""
	switch v := s.Type.(type) {
	case string:
		t = v
	case []any:
		var parts []string
		for _, p := range v {
			parts = append(parts, fmt.Sprint(p))
		}
		t = strings.Join(parts, " or ")
	}
	if t == "array" && s.Items != nil {
		return d.typeOf(s.Items) + "[]"
	}
	if len(s.Enum) > 0 {
		var vals []string
		for _, e := range s.Enum {
			vals = append(vals, fmt.Sprint(e))
		}
		t += " (" + strings.Join(vals, ", ") + ")"
	}
	return t
}

// pretty shows an example as indented JSON.
func pretty(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
