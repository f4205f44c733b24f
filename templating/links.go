package templating

import (
	"crypto/rand"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// LinkCodeLength is the length of a tracked link's code: 62^8 ≈ 2×10^14
// codes, so guessing one is hopeless and collisions are negligible (the
// links table's UNIQUE code catches the rest).
const LinkCodeLength = 8

const linkAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

var linkCodeRe = regexp.MustCompile(`^[0-9A-Za-z]{4,32}$`)

// NewLinkCode returns a random code for a tracked link.
func NewLinkCode() (string, error) {
	// Rejection sampling keeps every letter equally likely.
	out := make([]byte, 0, LinkCodeLength)
	buf := make([]byte, 2*LinkCodeLength)
	for len(out) < LinkCodeLength {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("templating: link code: %w", err)
		}
		for _, b := range buf {
			if int(b) < 256-256%len(linkAlphabet) && len(out) < LinkCodeLength {
				out = append(out, linkAlphabet[int(b)%len(linkAlphabet)])
			}
		}
	}
	return string(out), nil
}

// ValidLinkCode reports whether code looks like one NewLinkCode makes, so
// the redirect handler can refuse garbage without a query.
func ValidLinkCode(code string) bool { return linkCodeRe.MatchString(code) }

// TrackingURL is the URL a tracked button is created with at Meta: Herald's
// redirect with the code as the dynamic suffix.
func TrackingURL(baseURL string) string {
	return strings.TrimRight(baseURL, "/") + "/r/{{1}}"
}

// WithUTM appends utm_source=whatsapp, utm_medium=message and
// utm_campaign to dest, keeping any UTM value the marketer already set.
func WithUTM(dest, campaign string) (string, error) {
	u, err := url.Parse(dest)
	if err != nil {
		return "", fmt.Errorf("templating: destination %q: %w", dest, err)
	}
	q := u.Query()
	set := func(k, v string) {
		if v != "" && q.Get(k) == "" {
			q.Set(k, v)
		}
	}
	set("utm_source", "whatsapp")
	set("utm_medium", "message")
	set("utm_campaign", campaign)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
