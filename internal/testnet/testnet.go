// Package testnet serves raw TCP for tests: a loopback listener and its
// accept loop, closed with every connection when the test ends.
package testnet

import (
	"bufio"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
	"golang.org/x/net/http2"
)

// Serve listens on a free 127.0.0.1 port and hands every connection it
// accepts to handle, each in a goroutine of its own, until the test ends;
// then it stops listening and closes the connections still open, so a
// handler that holds a connection open (a silent server) may just return.
// It returns the listener's host:port.
func Serve(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var accepted []net.Conn
	stopped := make(chan struct{})
	t.Cleanup(func() {
		_ = ln.Close()
		<-stopped
		mu.Lock()
		defer mu.Unlock()
		for _, c := range accepted {
			_ = c.Close()
		}
	})
	go func() {
		defer close(stopped)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted = append(accepted, c)
			mu.Unlock()
			go handle(c)
		}
	}()
	return ln.Addr().String()
}

// FreeAddr returns a 127.0.0.1 host:port nothing listens on right now, for
// a server a test starts in another process.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Echo writes every message read on c back, with its type, until reading
// or writing fails: the loop of a fake echo server.
func Echo(c *websocket.Conn) {
	for {
		mt, msg, err := c.ReadMessage()
		if err != nil || c.WriteMessage(mt, msg) != nil {
			return
		}
	}
}

// ServeH2 is Serve for a raw HTTP/2 server a test writes frame by frame:
// each connection's client preface is read, then serve gets a Framer on
// it (its reads buffered) and the connection.
func ServeH2(t testing.TB, serve func(fr *http2.Framer, nc net.Conn)) string {
	t.Helper()
	return Serve(t, func(nc net.Conn) {
		br := bufio.NewReader(nc)
		if _, err := io.ReadFull(br, make([]byte, len(http2.ClientPreface))); err != nil {
			return
		}
		serve(http2.NewFramer(nc, br), nc)
	})
}
