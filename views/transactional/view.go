// Package transactional renders the Transactional page (recent API
// messages with filters), a message's detail with its history and
// callbacks, and the API reference built from the OpenAPI file.
package transactional

import (
	"time"

	"github.com/heraldhq/herald/views/components"
)

// Row is one API message in the list.
type Row struct {
	ID                 int64
	To, Template, Lang string
	Status, Reason     string
	APIKey             string
	CreatedAt          time.Time
}

// Filters are the list's filters as typed.
type Filters struct {
	Status, Template, Phone string
}

// ListView is the Transactional page.
type ListView struct {
	Rows      []Row
	Filters   Filters
	Statuses  []string
	Templates []string
	Pager     components.Pager
	// CallbackSecret is the key that signs callbacks; shown to admins only.
	CallbackSecret string
}

// Step is one entry of a message's history.
type Step struct {
	Status, Detail string
	At             time.Time
}

// Callback is one status callback delivery.
type Callback struct {
	Event, State, LastError string
	Attempts, LastStatus    int
}

// DetailView is one API message.
type DetailView struct {
	ID                                  int64
	To, Template, Lang, Category        string
	Status, Reason                      string
	APIKey, IdempotencyKey, CallbackURL string
	WAMID                               string
	// Params are the values sent, one-time passwords masked.
	Params    []Param
	CreatedAt time.Time
	ExpiresAt *time.Time
	History   []Step
	Callbacks []Callback
}

// Param is one named value of a message.
type Param struct{ Name, Value string }

// DocsView is the API reference.
type DocsView struct {
	Title, Version, Description string
	Auth                        string
	Groups                      []DocGroup
}

// DocGroup is the endpoints of one tag.
type DocGroup struct {
	Name      string
	Endpoints []Endpoint
}

// Endpoint is one operation of the API.
type Endpoint struct {
	Method, Path, Summary, Description string
	Anchor                             string
	Role                               string
	Params                             []DocParam
	RequestExample                     string
	Responses                          []DocResponse
}

// DocParam is one path, query or body parameter.
type DocParam struct {
	Name, In, Type, Description string
	Required                    bool
}

// DocResponse is one documented answer.
type DocResponse struct {
	Status, Description, Example string
}

func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
