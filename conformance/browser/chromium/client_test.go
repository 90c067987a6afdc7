package chromium

import (
	"context"
	"testing"
	"time"
)

// A server that never ends the connection does not hold Echo: when ctx
// ends, the page closes the socket and Echo returns with the close event.
func TestEchoEndsWithContext(t *testing.T) {
	b, err := Launch(t.Context(), findOrSkip(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	url := startEcho(t) // echoes, and never closes by itself
	// Long enough for the page to load and the socket to open on a loaded
	// machine (500 ms was not, in make test beside the other packages).
	const life = 3 * time.Second
	ctx, cancel := context.WithTimeout(t.Context(), life)
	defer cancel()
	start := time.Now()
	end, err := b.Echo(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > life+2*abortGrace {
		t.Errorf("Echo returned %v after its context ended", took-life)
	}
	if !end.Opened || end.Close == nil || !end.Close.WasClean {
		t.Errorf("end %+v; want opened, then closed cleanly by the page", end)
	}
}
