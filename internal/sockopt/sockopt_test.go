package sockopt

import (
	"context"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// The option is set on the listening socket before it listens.
func TestInt(t *testing.T) {
	lc := net.ListenConfig{Control: Int(unix.SOL_SOCKET, unix.SO_RCVBUF, 4096)}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	raw, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var gerr error
	if err := raw.Control(func(fd uintptr) { got, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) }); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	// Linux doubles the value asked for, for its own bookkeeping.
	if got != 2*4096 {
		t.Errorf("SO_RCVBUF = %d, want 8192", got)
	}
}
