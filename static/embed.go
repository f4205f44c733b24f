// Package static embeds Herald's vendored front-end assets (htmx, Pico CSS,
// Herald's own CSS and JS) into the binary, so nothing loads from a CDN.
package static

import "embed"

// Files holds css/, js/ and img/.
//
//go:embed css js img
var Files embed.FS
