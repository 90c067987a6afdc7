package handshake

import (
	"errors"
	"testing"
)

func TestParseExtensions(t *testing.T) {
	got, err := ParseExtensions([]string{
		`permessage-deflate; client_max_window_bits; server_max_window_bits="10", x-foo`,
		` , permessage-deflate;server_no_context_takeover `,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`permessage-deflate; client_max_window_bits; server_max_window_bits="10"`,
		`x-foo`,
		`permessage-deflate; server_no_context_takeover`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d elements %q, want %d", len(got), FormatExtensions(got...), len(want))
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("element %d: %q, want %q", i, got[i].String(), want[i])
		}
	}
	if p, _ := got[0].Param("server_max_window_bits"); p.Value != "10" || !p.Quoted {
		t.Errorf("quoted value parsed as %+v", p)
	}
	for _, bad := range []string{`permessage-deflate; a="unterminated`, `permessage-deflate; =1`, `per message`, `permessage-deflate; a=b c`} {
		if _, err := ParseExtensions([]string{bad}); !errors.Is(err, ErrExtensionSyntax) {
			t.Errorf("%q: err %v, want ErrExtensionSyntax", bad, err)
		}
	}
}
