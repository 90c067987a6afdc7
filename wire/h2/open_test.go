package h2_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/wsharness/wsharness/internal/testnet"
	"github.com/wsharness/wsharness/wire/h2"
)

// Streams opened concurrently on one connection reach the server in ID
// order (RFC 9113 §5.1.1: a server fails the connection on a lower ID).
func TestConcurrentOpensInIDOrder(t *testing.T) {
	ids := make(chan uint32, 200)
	addr := testnet.ServeH2(t, func(fr *http2.Framer, _ net.Conn) {
		_ = fr.WriteSettings()
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				close(ids)
				return
			}
			if hf, ok := f.(*http2.HeadersFrame); ok {
				ids <- hf.StreamID
			}
		}
	})
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := h2.Dial(context.Background(), nc, h2.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fields := []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"}}
	const n = 100
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := hc.Open(fields, false); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	_ = hc.Close()
	var last uint32
	for i := 0; i < n; i++ {
		id, ok := <-ids
		if !ok {
			t.Fatalf("the server read %d HEADERS, want %d", i, n)
		}
		if id <= last {
			t.Fatalf("stream %d after stream %d", id, last)
		}
		last = id
	}
}
