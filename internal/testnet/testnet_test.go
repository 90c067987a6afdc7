package testnet

import (
	"io"
	"net"
	"testing"
	"time"
)

// Every connection reaches the handler; those it left open are closed
// when the test ends.
func TestServe(t *testing.T) {
	var clients []net.Conn
	t.Run("serve", func(t *testing.T) {
		conns := make(chan net.Conn, 2)
		addr := Serve(t, func(c net.Conn) { conns <- c })
		for range 2 {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			clients = append(clients, c)
			select {
			case <-conns:
			case <-time.After(5 * time.Second):
				t.Fatal("the handler did not get the connection")
			}
		}
	})
	for _, c := range clients {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("read after the test ended: %v, want EOF", err)
		}
		_ = c.Close()
	}
}
