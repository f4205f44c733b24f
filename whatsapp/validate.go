package whatsapp

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of Meta's template creation rules.
const (
	MaxTemplateNameLen   = 512
	MaxHeaderTextLen     = 60
	MaxBodyLen           = 1024
	MaxFooterLen         = 60
	MaxButtons           = 10
	MaxQuickReplyButtons = 10
	MaxURLButtons        = 2
	MaxPhoneButtons      = 1
	MaxCopyCodeButtons   = 1
	MaxButtonLabelLen    = 25
	MaxButtonURLLen      = 2000
	MaxButtonPhoneLen    = 20
	MaxCopyCodeLen       = 15
)

// ValidationIssue is one broken creation rule, located by a field path such
// as "components[1].buttons[0].text", so a form can show it next to the input.
type ValidationIssue struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// String formats the issue as "field: message".
func (v ValidationIssue) String() string { return v.Field + ": " + v.Message }

var (
	templateNameRe  = regexp.MustCompile(`^[a-z0-9_]+$`)
	languageRe      = regexp.MustCompile(`^[a-z]{2,3}(_[A-Za-z]{2,4})?$`)
	variableRe      = regexp.MustCompile(`\{\{([^{}]*)\}\}`)
	positionalVarRe = regexp.MustCompile(`^[1-9][0-9]*$`)
	namedVarRe      = regexp.MustCompile(`^[a-z_]+$`)
)

// Variables returns the distinct variable names of text ("1", "2" or
// "first_name") in order of first appearance.
func Variables(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range variableRe.FindAllStringSubmatch(text, -1) {
		name := strings.TrimSpace(m[1])
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

// ValidateTemplate checks def against Meta's template creation rules and
// returns every issue found (nil when def is acceptable). Herald's composer
// shows these as the user types; the simulator rejects templates with them.
func ValidateTemplate(def TemplateDefinition) []ValidationIssue {
	v := &validator{}
	v.name(def.Name)
	if def.Language == "" {
		v.add("language", "language is required")
	} else if !languageRe.MatchString(def.Language) {
		v.add("language", fmt.Sprintf("%q is not a language code like en or en_US", def.Language))
	}
	switch def.Category {
	case CategoryMarketing, CategoryUtility, CategoryAuthentication:
	case "":
		v.add("category", "category is required")
	default:
		v.add("category", fmt.Sprintf("unknown category %q (MARKETING, UTILITY or AUTHENTICATION)", def.Category))
	}
	named := false
	switch strings.ToLower(def.ParameterFormat) {
	case "", ParameterFormatPositional:
	case ParameterFormatNamed:
		named = true
	default:
		v.add("parameter_format", fmt.Sprintf("unknown parameter format %q (named or positional)", def.ParameterFormat))
	}

	counts := map[string]int{}
	for i, c := range def.Components {
		path := fmt.Sprintf("components[%d]", i)
		typ := strings.ToUpper(c.Type)
		counts[typ]++
		if counts[typ] == 2 {
			v.add(path+".type", fmt.Sprintf("only one %s component is allowed", typ))
		}
		switch typ {
		case TemplateHeader:
			v.header(path, c, named)
		case TemplateBody:
			v.body(path, c, named, def.Category == CategoryAuthentication)
		case TemplateFooter:
			v.footer(path, c, def.Category == CategoryAuthentication)
		case TemplateButtons:
			v.buttons(path, c, def.Category == CategoryAuthentication)
		default:
			v.add(path+".type", fmt.Sprintf("unknown component type %q", c.Type))
		}
	}
	if counts[TemplateBody] == 0 {
		v.add("components", "a BODY component is required")
	}
	return v.issues
}

type validator struct{ issues []ValidationIssue }

func (v *validator) add(field, msg string) {
	v.issues = append(v.issues, ValidationIssue{Field: field, Message: msg})
}

func (v *validator) name(name string) {
	switch {
	case name == "":
		v.add("name", "name is required")
	case len(name) > MaxTemplateNameLen:
		v.add("name", fmt.Sprintf("name is longer than %d characters", MaxTemplateNameLen))
	case !templateNameRe.MatchString(name):
		v.add("name", "name may contain only lowercase letters, digits and underscores")
	}
}

// vars checks the variables of one text field and returns their names.
func (v *validator) vars(field, text string, named bool) []string {
	if strings.Count(text, "{{") != strings.Count(text, "}}") {
		v.add(field, "unbalanced {{ }} braces")
	}
	names := Variables(text)
	for _, n := range names {
		switch {
		case named && !namedVarRe.MatchString(n):
			v.add(field, fmt.Sprintf("variable {{%s}} must be a name of lowercase letters and underscores (parameter_format is named)", n))
		case !named && !positionalVarRe.MatchString(n):
			if namedVarRe.MatchString(n) {
				v.add(field, fmt.Sprintf("named variable {{%s}} needs parameter_format named; do not mix named and positional", n))
			} else {
				v.add(field, fmt.Sprintf("variable {{%s}} must be a number like {{1}}", n))
			}
		}
	}
	if !named {
		// Positional variables must be numbered 1..n without gaps.
		nums := map[int]bool{}
		for _, n := range names {
			if k, err := strconv.Atoi(n); err == nil {
				nums[k] = true
			}
		}
		for k := 1; k <= len(nums); k++ {
			if !nums[k] {
				v.add(field, fmt.Sprintf("variables must be numbered from {{1}} without gaps; {{%d}} is missing", k))
				break
			}
		}
	}
	return names
}

func (v *validator) header(path string, c TemplateComponent, named bool) {
	switch strings.ToUpper(c.Format) {
	case FormatText:
		if strings.TrimSpace(c.Text) == "" {
			v.add(path+".text", "header text is required")
			return
		}
		if n := utf8.RuneCountInString(c.Text); n > MaxHeaderTextLen {
			v.add(path+".text", fmt.Sprintf("header text is %d characters; the limit is %d", n, MaxHeaderTextLen))
		}
		names := v.vars(path+".text", c.Text, named)
		if len(names) > 1 {
			v.add(path+".text", "header text may contain at most one variable")
		}
		if len(names) == 1 {
			if named {
				if c.Example == nil || len(c.Example.HeaderTextNamedParams) != 1 {
					v.add(path+".example", "an example for the header variable is required (header_text_named_params)")
				}
			} else if c.Example == nil || len(c.Example.HeaderText) != 1 {
				v.add(path+".example", "an example for the header variable is required (header_text)")
			}
		}
	case FormatImage, FormatVideo, FormatDocument:
		if c.Example == nil || len(c.Example.HeaderHandle) == 0 {
			v.add(path+".example", "a media header needs an example (header_handle)")
		}
	case FormatLocation:
	case "":
		v.add(path+".format", "header format is required")
	default:
		v.add(path+".format", fmt.Sprintf("unknown header format %q", c.Format))
	}
}

func (v *validator) body(path string, c TemplateComponent, named, auth bool) {
	if auth {
		// Meta fixes the text of authentication templates.
		return
	}
	text := c.Text
	if strings.TrimSpace(text) == "" {
		v.add(path+".text", "body text is required")
		return
	}
	if n := utf8.RuneCountInString(text); n > MaxBodyLen {
		v.add(path+".text", fmt.Sprintf("body is %d characters; the limit is %d", n, MaxBodyLen))
	}
	names := v.vars(path+".text", text, named)
	trimmed := strings.TrimSpace(text)
	if strings.HasPrefix(trimmed, "{{") {
		v.add(path+".text", "body cannot start with a variable")
	}
	if strings.HasSuffix(trimmed, "}}") {
		v.add(path+".text", "body cannot end with a variable")
	}
	locs := variableRe.FindAllStringIndex(text, -1)
	for i := 1; i < len(locs); i++ {
		if strings.TrimSpace(text[locs[i-1][1]:locs[i][0]]) == "" {
			v.add(path+".text", "variables cannot be next to each other; put words between them")
			break
		}
	}
	if len(names) == 0 {
		return
	}
	if named {
		have := map[string]bool{}
		if c.Example != nil {
			for _, e := range c.Example.BodyTextNamedParams {
				have[e.ParamName] = e.Example != ""
			}
		}
		for _, n := range names {
			if !have[n] {
				v.add(path+".example", fmt.Sprintf("an example for {{%s}} is required (body_text_named_params)", n))
			}
		}
		return
	}
	if c.Example == nil || len(c.Example.BodyText) == 0 || len(c.Example.BodyText[0]) != len(names) {
		v.add(path+".example", fmt.Sprintf("body_text needs exactly %d example values, one per variable", len(names)))
	}
}

func (v *validator) footer(path string, c TemplateComponent, auth bool) {
	if auth {
		if c.CodeExpirationMinutes != 0 && (c.CodeExpirationMinutes < 1 || c.CodeExpirationMinutes > 90) {
			v.add(path+".code_expiration_minutes", "code expiration must be between 1 and 90 minutes")
		}
		return
	}
	if strings.TrimSpace(c.Text) == "" {
		v.add(path+".text", "footer text is required")
	}
	if n := utf8.RuneCountInString(c.Text); n > MaxFooterLen {
		v.add(path+".text", fmt.Sprintf("footer is %d characters; the limit is %d", n, MaxFooterLen))
	}
	if strings.Contains(c.Text, "{{") {
		v.add(path+".text", "footer cannot contain variables")
	}
}

func (v *validator) buttons(path string, c TemplateComponent, auth bool) {
	if len(c.Buttons) == 0 {
		v.add(path+".buttons", "a BUTTONS component needs at least one button")
		return
	}
	if len(c.Buttons) > MaxButtons {
		v.add(path+".buttons", fmt.Sprintf("%d buttons; at most %d are allowed", len(c.Buttons), MaxButtons))
	}
	perType := map[string]int{}
	groupChanges := 0
	for i, b := range c.Buttons {
		bp := fmt.Sprintf("%s.buttons[%d]", path, i)
		typ := strings.ToUpper(b.Type)
		perType[typ]++
		if i > 0 && (strings.ToUpper(c.Buttons[i-1].Type) == TemplateButtonQuickReply) != (typ == TemplateButtonQuickReply) {
			groupChanges++
		}
		if typ != TemplateButtonOTP {
			if strings.TrimSpace(b.Text) == "" {
				v.add(bp+".text", "button label is required")
			} else if n := utf8.RuneCountInString(b.Text); n > MaxButtonLabelLen {
				v.add(bp+".text", fmt.Sprintf("button label is %d characters; the limit is %d", n, MaxButtonLabelLen))
			}
		}
		if auth && typ != TemplateButtonOTP {
			v.add(bp+".type", "authentication templates allow only OTP buttons")
		}
		switch typ {
		case TemplateButtonQuickReply, TemplateButtonFlow:
		case TemplateButtonURL:
			v.urlButton(bp, b)
		case TemplateButtonPhoneNumber:
			if b.PhoneNumber == "" {
				v.add(bp+".phone_number", "phone number is required")
			} else if len(b.PhoneNumber) > MaxButtonPhoneLen {
				v.add(bp+".phone_number", fmt.Sprintf("phone number is longer than %d characters", MaxButtonPhoneLen))
			}
		case TemplateButtonCopyCode:
			if len(b.Example) == 0 || b.Example[0] == "" {
				v.add(bp+".example", "a copy-code button needs an example code")
			} else if utf8.RuneCountInString(b.Example[0]) > MaxCopyCodeLen {
				v.add(bp+".example", fmt.Sprintf("example code is longer than %d characters", MaxCopyCodeLen))
			}
		case TemplateButtonOTP:
			if !auth {
				v.add(bp+".type", "OTP buttons are allowed only in AUTHENTICATION templates")
			}
		default:
			v.add(bp+".type", fmt.Sprintf("unknown button type %q", b.Type))
		}
	}
	limits := []struct {
		typ string
		max int
	}{
		{TemplateButtonQuickReply, MaxQuickReplyButtons},
		{TemplateButtonURL, MaxURLButtons},
		{TemplateButtonPhoneNumber, MaxPhoneButtons},
		{TemplateButtonCopyCode, MaxCopyCodeButtons},
	}
	for _, l := range limits {
		if perType[l.typ] > l.max {
			v.add(path+".buttons", fmt.Sprintf("%d %s buttons; at most %d are allowed", perType[l.typ], l.typ, l.max))
		}
	}
	if groupChanges > 1 {
		v.add(path+".buttons", "quick-reply buttons and other buttons must form two contiguous groups")
	}
}

func (v *validator) urlButton(bp string, b TemplateButton) {
	if b.URL == "" {
		v.add(bp+".url", "URL is required")
		return
	}
	if len(b.URL) > MaxButtonURLLen {
		v.add(bp+".url", fmt.Sprintf("URL is longer than %d characters", MaxButtonURLLen))
	}
	base := variableRe.ReplaceAllString(b.URL, "x")
	if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.add(bp+".url", "URL must be an absolute http(s) URL")
	}
	locs := variableRe.FindAllStringIndex(b.URL, -1)
	switch {
	case len(locs) > 1:
		v.add(bp+".url", "URL may contain only one variable")
	case len(locs) == 1:
		if locs[0][1] != len(b.URL) {
			v.add(bp+".url", "the URL variable must be at the end")
		}
		if strings.TrimSpace(b.URL[locs[0][0]+2:locs[0][1]-2]) != "1" {
			v.add(bp+".url", "the URL variable must be {{1}}")
		}
		if len(b.Example) == 0 || b.Example[0] == "" {
			v.add(bp+".example", "a dynamic URL needs an example URL")
		}
	}
}
