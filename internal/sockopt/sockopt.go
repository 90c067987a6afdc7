// Package sockopt sets a socket option before the socket connects or
// listens, through the Control hook of net.Dialer and net.ListenConfig.
package sockopt

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// Int returns a Control function that sets the integer option opt at
// level (e.g. unix.SOL_SOCKET, unix.SO_RCVBUF) to value.
func Int(level, opt, value int) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), level, opt, value)
		})
		if err != nil {
			return err
		}
		return serr
	}
}
