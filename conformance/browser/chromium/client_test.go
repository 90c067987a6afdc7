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
