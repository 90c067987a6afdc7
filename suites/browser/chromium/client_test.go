package chromium

import (
	"context"
	"os"
	"testing"
	"time"
)

// A server that never ends the connection does not hold Echo: when ctx
// ends, the page closes the socket and Echo returns with the close event.
func TestEchoEndsWithContext(t *testing.T) {
	exe, err := Find()
	if err != nil {
		if os.Getenv("WSH_REQUIRE_BROWSER") != "" {
			t.Fatalf("WSH_REQUIRE_BROWSER is set: %v", err)
		}
		t.Skip(err)
	}
	b, err := Launch(t.Context(), exe)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	url := startEcho(t) // echoes, and never closes by itself
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	end, err := b.Echo(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 500*time.Millisecond+2*abortGrace {
		t.Errorf("Echo returned %v after its context ended", took-500*time.Millisecond)
	}
	if !end.Opened || end.Close == nil || !end.Close.WasClean {
		t.Errorf("end %+v; want opened, then closed cleanly by the page", end)
	}
}
