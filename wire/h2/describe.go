package h2

import (
	"fmt"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// describe is one line of the wire log for a received frame.
func describe(f http2.Frame) string {
	h := f.Header()
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			return "SETTINGS ACK"
		}
		var s []http2.Setting
		_ = f.ForeachSetting(func(x http2.Setting) error { s = append(s, x); return nil })
		return "SETTINGS " + describeSettings(s)
	case *http2.DataFrame:
		return fmt.Sprintf("DATA stream %d, %d octets%s", h.StreamID, len(f.Data()), endFlag(f.StreamEnded()))
	case *http2.HeadersFrame:
		return fmt.Sprintf("HEADERS stream %d%s%s", h.StreamID, endFlag(f.StreamEnded()), map[bool]string{false: " (CONTINUATION follows)"}[f.HeadersEnded()])
	case *http2.ContinuationFrame:
		return fmt.Sprintf("CONTINUATION stream %d", h.StreamID)
	case *http2.WindowUpdateFrame:
		return fmt.Sprintf("WINDOW_UPDATE stream %d +%d", h.StreamID, f.Increment)
	case *http2.RSTStreamFrame:
		return fmt.Sprintf("RST_STREAM stream %d %v", h.StreamID, f.ErrCode)
	case *http2.GoAwayFrame:
		debug := ""
		if d := f.DebugData(); len(d) > 0 {
			debug = fmt.Sprintf(" %q", d)
		}
		return fmt.Sprintf("GOAWAY last stream %d %v%s", f.LastStreamID, f.ErrCode, debug)
	case *http2.PingFrame:
		if f.IsAck() {
			return "PING ACK"
		}
		return "PING"
	}
	return fmt.Sprintf("%v stream %d flags %v, %d octets", h.Type, h.StreamID, h.Flags, h.Length)
}

// String lists the settings as received, NAME=value.
func (s Settings) String() string { return describeSettings(s.Raw) }

// describeSettings lists settings as NAME=value.
func describeSettings(s []http2.Setting) string {
	if len(s) == 0 {
		return "(empty)"
	}
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = fmt.Sprintf("%v=%d", x.ID, x.Val)
	}
	return strings.Join(parts, ", ")
}

// describeFields lists header fields as the HTTP/2 examples of RFC 8441
// write them: "name = value", one per field, in order.
func describeFields(fields []hpack.HeaderField) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f.Name + " = " + f.Value
	}
	return strings.Join(parts, "; ")
}

// FieldsText is fields one per line, "name: value", as results.json shows
// an HTTP/2 request or response head.
func FieldsText(fields []hpack.HeaderField) string {
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(f.Name + ": " + f.Value + "\r\n")
	}
	return b.String()
}
