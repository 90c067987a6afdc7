package cases

import (
	"testing"

	"golang.org/x/net/http2/hpack"

	"github.com/wsharness/wsharness/wire/h2"
)

// The regrade of a refused deflate offer reads the recorded answer as
// results.json holds it, over either transport.
func TestAgreedReadsRecordedAnswers(t *testing.T) {
	h2Answer := func(status string) string {
		return h2.FieldsText([]hpack.HeaderField{{Name: ":status", Value: status}, {Name: "sec-websocket-extensions", Value: "permessage-deflate"}})
	}
	for raw, want := range map[string]bool{
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n": true,
		"HTTP/1.1 400 Bad Request\r\n\r\n":                               false,
		h2Answer("200"):                                                  true,
		h2Answer("400"):                                                  false,
		h2Answer("101"):                                                  false,
		"":                                                               false,
		"garbage":                                                        false,
	} {
		if got := agreed(raw); got != want {
			t.Errorf("agreed(%q) = %v, want %v", raw, got, want)
		}
	}
}
