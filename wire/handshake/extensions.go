package handshake

import (
	"errors"
	"fmt"
	"strings"
)

// ExtParam is one parameter of a Sec-WebSocket-Extensions element:
// extension-param = token [ "=" (token | quoted-string) ] (RFC 6455 §9.1).
type ExtParam struct {
	Name  string
	Value string
	// HasValue tells "client_max_window_bits" from "client_max_window_bits=x".
	HasValue bool
	// Quoted records that the value was a quoted-string on the wire.
	Quoted bool
}

// Extension is one element of a Sec-WebSocket-Extensions header: an offer
// in a request, an acceptance in a response.
type Extension struct {
	Name   string
	Params []ExtParam
}

// String renders the element as it goes on the wire; Quoted values are
// quoted again.
func (e Extension) String() string {
	var b strings.Builder
	b.WriteString(e.Name)
	for _, p := range e.Params {
		b.WriteString("; ")
		b.WriteString(p.Name)
		switch {
		case p.Quoted:
			b.WriteString(`="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(p.Value) + `"`)
		case p.HasValue:
			b.WriteString("=" + p.Value)
		}
	}
	return b.String()
}

// Param returns the first parameter called name (case-insensitive).
func (e Extension) Param(name string) (ExtParam, bool) {
	for _, p := range e.Params {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return ExtParam{}, false
}

// FormatExtensions renders elements as one header value, in order: the
// order of offers is the client's preference (RFC 7692 §5).
func FormatExtensions(exts ...Extension) string {
	parts := make([]string, len(exts))
	for i, e := range exts {
		parts[i] = e.String()
	}
	return strings.Join(parts, ", ")
}

// MustParseExtension parses one element written in a case table; it panics
// on a typo, which the catalog tests then catch.
func MustParseExtension(s string) Extension {
	exts, err := ParseExtensions([]string{s})
	if err != nil || len(exts) != 1 {
		panic(fmt.Sprintf("wire: extension %q: %v", s, err))
	}
	return exts[0]
}

// ErrExtensionSyntax marks a Sec-WebSocket-Extensions value that breaks
// the grammar of RFC 6455 §9.1.
var ErrExtensionSyntax = errors.New("Sec-WebSocket-Extensions syntax")

// ParseExtensions parses the values of every Sec-WebSocket-Extensions
// header line, in order (a header may be repeated, §9.1). Quoted values are
// unescaped. Empty list elements are skipped, as RFC 9110 §5.6.1 asks.
func ParseExtensions(values []string) ([]Extension, error) {
	var out []Extension
	for _, v := range values {
		elems, err := splitOutsideQuotes(v, ',')
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrExtensionSyntax, v, err)
		}
		for _, el := range elems {
			if strings.TrimSpace(el) == "" {
				continue
			}
			e, err := parseElement(el)
			if err != nil {
				return nil, fmt.Errorf("%w: %q: %w", ErrExtensionSyntax, v, err)
			}
			out = append(out, e)
		}
	}
	return out, nil
}

func parseElement(s string) (Extension, error) {
	parts, err := splitOutsideQuotes(s, ';')
	if err != nil {
		return Extension{}, err
	}
	e := Extension{Name: strings.TrimSpace(parts[0])}
	if !isToken(e.Name) {
		return Extension{}, fmt.Errorf("extension name %q is not a token", e.Name)
	}
	for _, raw := range parts[1:] {
		name, value, hasValue := strings.Cut(raw, "=")
		p := ExtParam{Name: strings.TrimSpace(name), HasValue: hasValue}
		if !isToken(p.Name) {
			return Extension{}, fmt.Errorf("parameter name %q is not a token", p.Name)
		}
		if hasValue {
			value = strings.TrimSpace(value)
			if strings.HasPrefix(value, `"`) {
				if p.Value, err = unquote(value); err != nil {
					return Extension{}, fmt.Errorf("parameter %s: %w", p.Name, err)
				}
				p.Quoted = true
			} else if p.Value = value; !isToken(value) {
				return Extension{}, fmt.Errorf("parameter %s: value %q is not a token", p.Name, value)
			}
		}
		e.Params = append(e.Params, p)
	}
	return e, nil
}

// splitOutsideQuotes splits s at sep where sep is not inside a
// quoted-string.
func splitOutsideQuotes(s string, sep byte) ([]string, error) {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++ // the escaped octet, whatever it is
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	if quoted {
		return nil, errors.New("unterminated quoted-string")
	}
	return append(parts, s[start:]), nil
}

// unquote decodes a quoted-string (RFC 9110 §5.6.4).
func unquote(s string) (string, error) {
	if len(s) < 2 || s[len(s)-1] != '"' {
		return "", fmt.Errorf("malformed quoted-string %s", s)
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		if c == '\\' {
			if i+1 >= len(s)-1 {
				return "", fmt.Errorf("malformed quoted-string %s", s)
			}
			i++
			c = s[i]
		} else if c == '"' {
			return "", fmt.Errorf("malformed quoted-string %s", s)
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// isToken reports whether s is an RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
